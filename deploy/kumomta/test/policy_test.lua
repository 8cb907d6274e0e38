--[[
Runs the reference policy (../init.lua) under Lua 5.4 (KumoMTA embeds 5.4) with a stand-in for
the `kumo` module, against auth.json files written here the way InboxGrove publishes them, and
checks what it decides: SMTP AUTH against the shared password vector, RCPT for hosted
mailboxes (live / unknown / suspended / deleted / another tenant's), routing of hosted
domains to Dovecot's LMTP, and the daily allowance.

  lua5.4 deploy/kumomta/test/policy_test.lua      (needs lua-cjson and sha256sum)

The stand-in keeps the parts the policy relies on honest: files are really read and listed,
SHA-256 is coreutils' sha256sum, a throttle counts against its burst per name.
]]

local cjson = require 'cjson'

local here = arg[0]:match '^(.*)/[^/]*$' or '.'
local root = os.tmpname()
os.remove(root)
assert(os.execute('mkdir -p ' .. root .. '/tenants'))

local function write(path, text)
  local f = assert(io.open(path, 'w'))
  f:write(text)
  f:close()
end

local function read(path)
  local f = assert(io.open(path, 'r'))
  local t = f:read 'a'
  f:close()
  return t
end

local function sha256_hex(s)
  local tmp = os.tmpname()
  write(tmp, s)
  local p = assert(io.popen('sha256sum ' .. tmp))
  local out = p:read 'a'
  p:close()
  os.remove(tmp)
  return (out:match '^(%x+)')
end

-- The stand-in `kumo`.
local handlers = {}
local errors = {}
local throttles = {}
local kumo = {
  on = function(name, fn)
    assert(handlers[name] == nil or name == 'get_queue_config', name .. ' registered twice')
    handlers[name] = fn
  end,
  memoize = function(fn)
    return fn
  end,
  fs = {
    uncached_glob = function(pattern)
      local files = {}
      local p = assert(io.popen('ls -1 ' .. pattern .. ' 2>/dev/null'))
      for line in p:lines() do
        table.insert(files, line)
      end
      p:close()
      return files
    end,
  },
  serde = {
    json_load = function(path)
      return cjson.decode(read(path))
    end,
  },
  digest = {
    sha256 = function(s)
      return { hex = sha256_hex(s) }
    end,
  },
  reject = function(code, message)
    error({ code = code, message = message }, 0)
  end,
  log_error = function(m)
    table.insert(errors, m)
  end,
  make_listener_domain = function(t)
    t.kind = 'listener_domain'
    return t
  end,
  make_queue_config = function(t)
    return t
  end,
  make_egress_path = function(t)
    return t
  end,
  make_throttle = function(name, spec)
    local burst = assert(tonumber(spec:match 'max_burst=(%d+)'), spec)
    return {
      throttle = function()
        local used = throttles[name] or 0
        if used >= burst then
          return { throttled = true }
        end
        throttles[name] = used + 1
        return { throttled = false }
      end,
    }
  end,
  secrets = {
    load = function()
      return 'token'
    end,
  },
  http = {},
}
package.loaded['kumo'] = kumo
package.loaded['policy-extras.dkim_sign'] = {
  setup = function()
    return function() end
  end,
}
package.loaded['policy-extras.listener_domains'] = {
  setup = function()
    return function(domain)
      if domain == 'fbl.example' then
        return { kind = 'listener_domain', log_arf = 'LogThenDrop' }
      end
      return nil
    end
  end,
}
package.loaded['policy-extras.log_hooks'] = { new = function() end }

-- The policy, pointed at the temporary directory.
local source = read(here .. '/../init.lua')
local count
source, count = source:gsub("local IG_DIR = '[^']*'", "local IG_DIR = '" .. root .. "'")
assert(count == 1, 'IG_DIR is not where the test expects it')
assert(load(source, '@init.lua'))()

-- Published data: two tenants, as InboxGrove writes auth.json.
local SALT = '00112233445566778899aabbccddeeff'
local PASSWORD = 'Xq7vR2mT9pL4sW8nK3dF6hJ1'
-- The vector shared with Rust (services::inboxes::relay_hash) and Dovecot (doveadm pw -t).
local VECTOR = '0a4acb24102df972169f83bd97cdea17097ef9eb610ccdb1cc9e1e6683c37cf2'
local A = '11111111-1111-4111-8111-111111111111'
local B = '22222222-2222-4222-8222-222222222222'
local function user(id, status, allowance)
  return {
    inbox_id = id,
    status = status,
    salt = SALT,
    sha256 = VECTOR,
    daily_allowance = allowance or 5,
    warmup_day = 3,
  }
end
local function publish(tenant, data)
  assert(os.execute('mkdir -p ' .. root .. '/tenants/' .. tenant))
  data.tenant = tenant
  write(root .. '/tenants/' .. tenant .. '/auth.json', cjson.encode(data))
end
publish(A, {
  status = 'active',
  domains = { 'acme.test' },
  users = {
    ['jane@acme.test'] = user('aaaaaaaa-0000-4000-8000-000000000001', 'active', 2),
    ['held@acme.test'] = user('aaaaaaaa-0000-4000-8000-000000000002', 'suspended'),
  },
})
publish(B, {
  status = 'suspended',
  domains = { 'other.test' },
  users = { ['bob@other.test'] = user('bbbbbbbb-0000-4000-8000-000000000001', 'active') },
})

local passed, failed = 0, 0
local function check(name, ok, detail)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    print('FAIL ' .. name .. (detail and (': ' .. tostring(detail)) or ''))
  end
end

-- Calls a handler; returns ok, result-or-rejection.
local function call(name, ...)
  local ok, r = pcall(handlers[name], ...)
  return ok, r
end

local function meta(values)
  return {
    get_meta = function(_, k)
      return values[k]
    end,
  }
end

-- 1. SMTP AUTH: the shared vector, wrong password, suspended mailbox, suspended tenant.
check('the shared vector', sha256_hex(PASSWORD .. SALT) == VECTOR)
local auth = handlers.smtp_server_auth_plain
check('AUTH with the issued password', auth('jane@acme.test', 'jane@acme.test', PASSWORD, meta {}) == true)
check('AUTH with a wrong password', auth('jane@acme.test', 'jane@acme.test', PASSWORD .. 'x', meta {}) == false)
check('AUTH acting as another user', auth('held@acme.test', 'jane@acme.test', PASSWORD, meta {}) == false)
check('AUTH of a suspended mailbox', auth('held@acme.test', 'held@acme.test', PASSWORD, meta {}) == false)
check('AUTH in a suspended tenant', auth('bob@other.test', 'bob@other.test', PASSWORD, meta {}) == false)
check('AUTH of an unknown login', auth('x@acme.test', 'x@acme.test', PASSWORD, meta {}) == false)

-- 2. RCPT: live mailboxes only, for hosted domains; other domains pass through.
local function rcpt(user_, domain)
  return call('smtp_server_rcpt_to', { user = user_, domain = domain, email = user_ .. '@' .. domain }, meta {})
end
local ok, r = rcpt('jane', 'acme.test')
check('RCPT to a live mailbox', ok, r and r.message)
ok, r = rcpt('JANE', 'ACME.test')
check('RCPT in another case', ok, r and r.message)
for _, case in ipairs {
  { 'nobody', 'acme.test', 'unknown' },
  { 'held', 'acme.test', 'suspended mailbox' },
  { 'bob', 'other.test', 'suspended tenant' },
} do
  ok, r = rcpt(case[1], case[2])
  check('RCPT to a ' .. case[3] .. ' is 550 5.1.1', not ok and r.code == 550 and r.message:match '^5%.1%.1', r and r.message)
end
ok, r = rcpt('someone', 'elsewhere.example')
check('RCPT to a domain we do not host passes through', ok, r and r.message)

-- A mailbox deleted from the data (a republish without it) is refused from then on.
publish(A, {
  status = 'active',
  domains = { 'acme.test' },
  users = { ['held@acme.test'] = user('aaaaaaaa-0000-4000-8000-000000000002', 'suspended') },
})
ok, r = rcpt('jane', 'acme.test')
check('RCPT to a deleted mailbox is 550 5.1.1', not ok and r.code == 550, r and r.message)
publish(A, {
  status = 'active',
  domains = { 'acme.test' },
  users = { ['jane@acme.test'] = user('aaaaaaaa-0000-4000-8000-000000000001', 'active', 2) },
})

-- A second tenant claiming the same domain is trusted for neither.
publish('33333333-3333-4333-8333-333333333333', {
  status = 'active',
  domains = { 'acme.test' },
  users = { ['mallory@acme.test'] = user('cccccccc-0000-4000-8000-000000000001', 'active') },
})
ok, r = rcpt('mallory', 'acme.test')
check('a domain claimed twice is not hosted', ok and #errors > 0, r and r.message)
os.execute('rm -r ' .. root .. '/tenants/33333333-3333-4333-8333-333333333333')

-- 3. The MX listener takes hosted domains; routing sends them to LMTP.
local ld = handlers.get_listener_domain('acme.test', '0.0.0.0:25', meta {})
check('MX accepts a hosted domain', ld and ld.relay_to == true)
check('MX defers other domains to the published rules', handlers.get_listener_domain('elsewhere.example', '0.0.0.0:25', meta {}) == nil)
check('the FBL rules still apply', handlers.get_listener_domain('fbl.example', '0.0.0.0:25', meta {}).log_arf == 'LogThenDrop')
check('587 does not accept mail for hosted domains from anyone', handlers.get_listener_domain('acme.test', '0.0.0.0:587', meta {}) == nil)
local q = handlers.get_queue_config('acme.test', A, nil, nil)
check('hosted queues go to LMTP', q and q.protocol.smtp.mx_list[1] == '/var/run/dovecot/lmtp')
check('other queues use MX resolution', handlers.get_queue_config('elsewhere.example', A, nil, nil) == nil)
local e = handlers.get_egress_path_config('acme.test', 'unspecified', 'mx_list:/var/run/dovecot/lmtp')
check('the LMTP path speaks LMTP', e.use_lmtp == true)
check('other paths do not', handlers.get_egress_path_config('x.example', 'unspecified', 'x.example').use_lmtp == nil)

-- 4. The daily allowance: jane may send 2 today; the third gets 451 naming the limit.
local function message(sender)
  local m = {
    sender = function()
      return { email = sender }
    end,
    from_header = function()
      return { email = sender, domain = sender:match '@(.*)$' }
    end,
    set_meta = function() end,
    id = function()
      return 'id'
    end,
    check_fix_conformance = function() end,
  }
  return m
end
local authed = meta { authz_id = 'jane@acme.test' }
for i = 1, 2 do
  ok, r = call('smtp_server_message_received', message 'jane@acme.test', authed)
  check('message ' .. i .. ' within the allowance', ok, r and r.message)
end
ok, r = call('smtp_server_message_received', message 'jane@acme.test', authed)
check(
  'the excess is 451 naming the limit',
  not ok and r.code == 451 and r.message:match 'may send 2 messages today' and r.message:match 'warm%-up day 3',
  r and r.message
)
ok, r = call('smtp_server_message_received', message 'jane@acme.test', meta {})
check('inbound mail (no login) is not counted or refused', ok, r and r.message)

os.execute('rm -r ' .. root)
print(string.format('policy_test.lua: %d passed, %d failed', passed, failed))
os.exit(failed == 0 and 0 or 1)
