--[[
InboxGrove reference policy for KumoMTA (2025.12.02 or later).

Install as /opt/kumomta/etc/policy/init.lua; see README.md beside this file.

It consumes exactly the files InboxGrove publishes under IG_DIR:
  dkim_base.toml                          [base] (static; InboxGrove writes it once if absent)
  listener_domains_static.toml            operator-owned: FBL domain(s), optional
  tenants/<tenant>/dkim_data.toml         [domain."<d>"] selector, algo, filename
  tenants/<tenant>/listener_domains.toml  ["<d>"] relay_from_authz = [mailboxes]
  tenants/<tenant>/auth.json              tenant, status, domains[], users{address: inbox_id,
                                          status, salt, sha256, daily_allowance, warmup_day}
  keys/<domain>/<selector>.key            PKCS#8 PEM, read by the DKIM signer
  (dovecot/<domain>.passwd is Dovecot's copy of the same logins; see deploy/dovecot/)

What this policy does:
  * 587: STARTTLS, then AUTH PLAIN checked against salted SHA-256 hashes in auth.json
    (sha256 = SHA-256(password .. salt), the record Dovecot reads as {SSHA256.HEX});
    nobody relays without AUTH (relay_hosts = {}).
  * 25: the MX of every hosted domain. RCPT for a mailbox that is not live (unknown,
    deleted, suspended, or its tenant suspended) gets 550 5.1.1; mail for live ones is
    handed to Dovecot over LMTP. Also the FBL listener (listener_domains_static.toml).
  * Each authenticated inbox may send its published daily_allowance (warm-up stage or
    daily cap, whichever is lower) per UTC day; the excess gets 451 naming the limit.
  * Every accepted message is tagged with its tenant (meta `tenant`, so the queue is
    <tenant>@<destination> and suspend/bounce by tenant match it) and inbox (`x_inbox_id`).
  * Envelope sender == From == authenticated mailbox, else 550 5.7.1.
  * DKIM-signs from the published data (signing is the last step of reception).
  * Ships Delivery / Bounce / TransientFailure / Feedback records to InboxGrove in batches.
  * 127.0.0.1:8000: the admin HTTP API InboxGrove calls (bump-config-epoch, suspend, bounce).

Egress (sources, IP pools, traffic shaping) is the operator's part and is not configured
here; kumod then delivers from the host's default address with built-in shaping defaults.
]]

local kumo = require 'kumo'
local dkim_sign = require 'policy-extras.dkim_sign'
local listener_domains = require 'policy-extras.listener_domains'
local log_hooks = require 'policy-extras.log_hooks'

-------------------------------------------------------------------------------
-- Operator-editable constants
-------------------------------------------------------------------------------

-- Must equal InboxGrove's relay.policy_dir (INBOXGROVE_RELAY__POLICY_DIR), absolute.
local IG_DIR = '/opt/kumomta/etc/inboxgrove'

-- InboxGrove's delivery-log ingest: <server.public_url>/webhooks/kumomta.
local WEBHOOK_URL = 'https://app.inboxgrove.example/webhooks/kumomta'
-- One line holding KUMOMTA_WEBHOOK_SECRET (0640 root:kumod). No .lua/.json/.toml/.yaml
-- extension, so the config monitor never hashes it.
local WEBHOOK_TOKEN_FILE = '/opt/kumomta/etc/secrets/inboxgrove_webhook_token'
local WEBHOOK_TIMEOUT = '30 seconds'
local WEBHOOK_BATCH_SIZE = 100 -- records per POST at most
local WEBHOOK_MIN_BATCH_SIZE = 10 -- wait for this many ...
local WEBHOOK_MAX_BATCH_LATENCY = '2 seconds' -- ... but never longer than this

-- Customer submission: the host name InboxGrove exports (relay.smtp_host), port 587.
local SUBMISSION_LISTEN = '0.0.0.0:587'
local SUBMISSION_HOSTNAME = 'smtp.inboxgrove.example'
local TLS_CERTIFICATE = '/opt/kumomta/etc/tls/smtp.inboxgrove.example.crt' -- full chain, PEM
local TLS_PRIVATE_KEY = '/opt/kumomta/etc/tls/smtp.inboxgrove.example.key' -- 0640 root:kumod

-- Inbound port 25: the MX of every hosted domain (publish MX records pointing at this
-- host name), and feedback-loop (ARF) reports addressed to the domains in
-- listener_domains_static.toml. Set MX_LISTEN = nil to not listen on 25.
local MX_LISTEN = '0.0.0.0:25'
local MX_HOSTNAME = 'mx.inboxgrove.example'

-- Dovecot's LMTP: an absolute unix socket path (dovecot-lmtpd's default below; kumod must be
-- able to write it, see deploy/dovecot/), or '[10.0.0.5]:24' (KumoMTA 2025.10.06 or later).
local LMTP_ADDRESS = '/var/run/dovecot/lmtp'

-- Admin HTTP API. InboxGrove (relay.kumomta_api_url) must connect from a trusted host.
local HTTP_LISTEN = '127.0.0.1:8000'
local HTTP_TRUSTED_HOSTS = { '127.0.0.1', '::1' }

local SPOOL_DIR = '/var/spool/kumomta'
local LOG_DIR = '/var/log/kumomta'

-- Meta names logged locally and sent to InboxGrove.
local LOGGED_META = { 'tenant', 'x_inbox_id' }
-- Meta names embedded in X-KumoRef. x_ig_msg is the message's own id (the `id` of its
-- Delivery record): InboxGrove counts a complaint only if its trace names a message it saw
-- delivered to that recipient, so a forged report about a tenant counts for nothing.
local TRACE_META = { 'tenant', 'x_inbox_id', 'x_ig_msg' }

-------------------------------------------------------------------------------
-- Published data: which tenant files exist
-------------------------------------------------------------------------------

-- The helpers take their file list when this file runs, i.e. once per Lua state.
-- kumod discards every pooled Lua state when the config epoch changes (InboxGrove's
-- POST /api/admin/bump-config-epoch after each publish, or the 10 s file monitor), so a
-- new state re-lists the tenant directories. The listing is memoized per epoch: one
-- directory walk per file kind per epoch, and never a listing from before the bump
-- (kumo.fs.glob's own 60 s cache is not epoch-aware, hence uncached_glob in here).
local list_tenant_files = kumo.memoize(function(file_name)
  local files = kumo.fs.uncached_glob(
    string.format('%s/tenants/*/%s', IG_DIR, file_name)
  )
  table.sort(files) -- a stable order, so the helpers' own caches keep their key
  return files
end, {
  name = 'inboxgrove_tenant_files',
  ttl = '5 minutes',
  capacity = 8,
  invalidate_with_epoch = true,
})

-- The static file first, then every tenant's file. Memoized tables are read-only
-- userdata, so copy into a plain table (the helpers also use the list as a cache key).
local function static_then_tenants(static_file, file_name)
  local files = { static_file }
  local found = list_tenant_files(file_name)
  for i = 1, #found do
    table.insert(files, found[i])
  end
  return files
end

-------------------------------------------------------------------------------
-- 1. Delivery-log hook -> InboxGrove (set up before anything that routes queues)
-------------------------------------------------------------------------------

-- Re-read on every batch so a rotated secret is picked up without a restart.
local function webhook_token()
  local token = kumo.secrets.load(WEBHOOK_TOKEN_FILE):match '^%s*(.-)%s*$'
  if token == '' then
    error(WEBHOOK_TOKEN_FILE .. ' is empty')
  end
  return token
end

log_hooks:new {
  name = 'inboxgrove', -- queue "inboxgrove.log_hook"; add it to shaping.toml if you use shaping
  batch_size = WEBHOOK_BATCH_SIZE,
  -- max_batch_latency only matters when min_batch_size > 1: kumod then waits up to that
  -- long for min_batch_size records before sending what it has.
  min_batch_size = WEBHOOK_MIN_BATCH_SIZE,
  max_batch_latency = WEBHOOK_MAX_BATCH_LATENCY,
  log_parameters = {
    meta = LOGGED_META,
    -- Only what InboxGrove counts. (The helper's `filter` option would do this too, but
    -- it only exists since 2026.04.09; per_record works on every supported version.)
    per_record = {
      Delivery = { enable = true },
      Bounce = { enable = true },
      TransientFailure = { enable = true },
      Feedback = { enable = true },
      Any = { enable = false },
    },
  },
  constructor = function(domain, tenant, campaign)
    local connection = {}
    local client = kumo.http.build_client {
      timeout = WEBHOOK_TIMEOUT,
      user_agent = 'kumomta-inboxgrove-log-hook',
    }

    function connection:send_batch(messages)
      -- Each queued message's body is the JSON log record exactly as kumod serialised it
      -- (no template is configured), so the POST body is those objects in a JSON array.
      local records = {}
      for i, message in ipairs(messages) do
        local record = message:get_data()
        if record:sub(-1) == '\n' then
          record = record:sub(1, -2)
        end
        records[i] = record
      end

      local response = client
        :post(WEBHOOK_URL)
        :header('Content-Type', 'application/json')
        :bearer_auth(webhook_token())
        :body('[' .. table.concat(records, ',') .. ']')
        :send()

      local disposition = string.format(
        '%d %s: %s',
        response:status_code(),
        response:status_reason(),
        response:text():sub(1, 200)
      )
      if response:status_is_success() then
        return disposition
      end
      if response:status_code() == 400 then
        -- InboxGrove could not parse the batch: sending it again cannot help, drop it.
        kumo.reject(500, disposition)
      end
      -- 401 (secret being rotated), 429, 5xx, ...: transient, every record of the batch
      -- is retried on its own jittered schedule (1 min up to 20 min).
      kumo.reject(451, disposition)
    end

    function connection:close()
      client:close()
    end

    return connection
  end,
}

-------------------------------------------------------------------------------
-- 2. DKIM signing from the published data
-------------------------------------------------------------------------------

-- dkim_base.toml carries the only [base]; tenant files have no [base] (a later [base]
-- would override it for everybody). The helper memoizes the merged data per epoch, signs
-- by the From domain, and `kumod --validate` test-signs every listed domain.
local dkim_signer = dkim_sign:setup(
  static_then_tenants(IG_DIR .. '/dkim_base.toml', 'dkim_data.toml')
)

-------------------------------------------------------------------------------
-- 3. Relay permission by envelope-sender domain (relay_from_authz) + FBL domains
-------------------------------------------------------------------------------

local listener_domain_rules = listener_domains:setup(
  static_then_tenants(IG_DIR .. '/listener_domains_static.toml', 'listener_domains.toml')
)

-- Registered in section 4b, wrapped by the MX rule (it needs the login data).

-------------------------------------------------------------------------------
-- 4. SMTP logins from auth.json
-------------------------------------------------------------------------------

local function is_hex(s, len)
  return type(s) == 'string' and #s == len and s:match '^[0-9a-f]+$' ~= nil
end

-- Reads one tenant's auth.json. Returns the parsed file or nil and a reason.
local function read_auth_file(path)
  local ok, data = pcall(kumo.serde.json_load, path)
  if not ok then
    return nil, tostring(data)
  end
  if type(data) ~= 'table' or type(data.users) ~= 'table' then
    return nil, 'no "users" object'
  end
  -- The tenant becomes part of queue names (campaign:tenant@domain): a UUID, and the
  -- one its directory is named after.
  local dir = path:match '/tenants/([^/]+)/auth%.json$'
  if
    type(data.tenant) ~= 'string'
    or not data.tenant:match '^[0-9a-f%-]+$'
    or data.tenant ~= dir
  then
    return nil, 'tenant is not the UUID its directory is named after'
  end
  if data.domains ~= nil and type(data.domains) ~= 'table' then
    return nil, '"domains" is not a list'
  end
  for name, u in pairs(data.users) do
    if
      type(u) ~= 'table'
      or type(u.inbox_id) ~= 'string'
      or not is_hex(u.salt, 32)
      or not is_hex(u.sha256, 64)
      or type(u.daily_allowance) ~= 'number'
      or math.tointeger(u.daily_allowance) == nil
      or u.daily_allowance < 0
    then
      return nil, string.format('user %s: bad inbox_id, salt, sha256 or daily_allowance', name)
    end
  end
  return data
end

-- The directory over all tenants: users (username -> { tenant, inbox_id, active, salt,
-- sha256, daily_allowance, warmup_day }) and domains (hosted domain -> tenant). Rebuilt on
-- each epoch bump (and every 5 minutes), so a republished auth.json applies to the next
-- AUTH, RCPT and message.
local load_directory = kumo.memoize(function(pattern)
  local users = {}
  local domains = {}
  for _, path in ipairs(kumo.fs.uncached_glob(pattern)) do
    local data, err = read_auth_file(path)
    if not data then
      -- Only this tenant's logins and mail fail; the others keep working.
      kumo.log_error(string.format('inboxgrove: skipping %s: %s', path, err))
    else
      for _, d in ipairs(data.domains or {}) do
        if type(d) == 'string' then
          d = d:lower()
          if domains[d] ~= nil and domains[d] ~= data.tenant then
            kumo.log_error('inboxgrove: domain ' .. d .. ' is in two tenants; refused')
            domains[d] = false
          else
            domains[d] = data.tenant
          end
        end
      end
      for name, u in pairs(data.users) do
        if users[name] ~= nil then
          -- Never guess which tenant a login belongs to.
          kumo.log_error('inboxgrove: login ' .. name .. ' is in two tenants; refused')
          users[name] = false
        else
          users[name] = {
            tenant = data.tenant,
            inbox_id = u.inbox_id,
            active = data.status == 'active' and u.status == 'active',
            salt = u.salt,
            sha256 = u.sha256,
            daily_allowance = math.tointeger(u.daily_allowance),
            warmup_day = math.tointeger(u.warmup_day) or 0,
          }
        end
      end
    end
  end
  return { users = users, domains = domains }
end, {
  name = 'inboxgrove_directory',
  ttl = '5 minutes',
  capacity = 2,
  invalidate_with_epoch = true,
})

local AUTH_GLOB = IG_DIR .. '/tenants/*/auth.json'

-- The user record, or nil/false for an unknown or ambiguous login. Raises when the
-- data cannot be loaded at all.
local function lookup_user(name)
  return load_directory(AUTH_GLOB).users[name]
end

-- True when `domain` (any case) is hosted here: its mail goes to Dovecot.
local function is_hosted(domain)
  return type(domain) == 'string' and load_directory(AUTH_GLOB).domains[domain:lower()] and true
    or false
end

kumo.on('smtp_server_auth_plain', function(authz, authc, password, conn_meta)
  -- authz is chosen by the client and is what relay_from_authz trusts: a valid user
  -- must never act as another one. (kumod passes authc when the client sent no authz.)
  if authz ~= authc or password == '' then
    return false
  end
  local ok, u = pcall(lookup_user, authc)
  if not ok then
    kumo.log_error('inboxgrove: auth data unavailable: ' .. tostring(u))
    kumo.reject(454, '4.7.0 authentication temporarily unavailable, try again later')
  end
  -- Usernames are published lower-case: log in exactly as issued.
  if not u or not u.active then
    return false
  end
  -- sha256 = hex(SHA-256(password .. salt)), salt = its 32 hex characters as written:
  -- the record Dovecot checks as {SSHA256.HEX}. A plain comparison is fine: the client
  -- does not control the digest it is compared with.
  return kumo.digest.sha256(password .. u.salt).hex == u.sha256
end)

-------------------------------------------------------------------------------
-- 4b. Inbound: live mailboxes only, handed to Dovecot over LMTP
-------------------------------------------------------------------------------

-- The MX listener accepts mail to every hosted domain (which mailboxes exist is checked at
-- RCPT, below); everything else follows the published rules: relay_from_authz on 587,
-- the FBL domains on 25. (One handler only: the helper's function is wrapped.)
local function get_listener_domain(domain, listener, conn_meta)
  if MX_LISTEN and listener == MX_LISTEN then
    local ok, hosted = pcall(is_hosted, domain)
    if ok and hosted then
      return kumo.make_listener_domain { relay_to = true }
    end
  end
  return listener_domain_rules(domain, listener, conn_meta)
end
kumo.on('get_listener_domain', get_listener_domain)

-- KumoMTA sends no bounces and relay_to accepts any local part, so a recipient Dovecot
-- would reject must be refused here, at RCPT, or the mail is lost silently. Runs for every
-- listener (a customer mailing another hosted mailbox too); other domains pass through.
kumo.on('smtp_server_rcpt_to', function(recipient, conn_meta)
  local ok, dir = pcall(load_directory, AUTH_GLOB)
  if not ok then
    kumo.log_error('inboxgrove: mailbox data unavailable: ' .. tostring(dir))
    kumo.reject(451, '4.3.0 temporarily unable to accept mail, try again later')
  end
  local domain = string.lower(recipient.domain or '')
  if not dir.domains[domain] then
    return
  end
  local address = string.lower(recipient.user or '') .. '@' .. domain
  local u = dir.users[address]
  if not u or not u.active or u.tenant ~= dir.domains[domain] then
    kumo.reject(550, '5.1.1 <' .. address .. '>: no such mailbox here')
  end
end)

-- Queues for hosted domains deliver to Dovecot (their MX is this host: resolving it would
-- loop). Several get_queue_config handlers may exist; the first non-nil answer wins, so
-- register any queue helper after this one.
kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  local ok, hosted = pcall(is_hosted, routing_domain or domain)
  if ok and hosted then
    return kumo.make_queue_config {
      protocol = { smtp = { mx_list = { LMTP_ADDRESS } } },
    }
  end
  return nil
end)

-- The one egress-path handler: LMTP (one recipient per transaction, the listener's default
-- batch handling) to the mail store, built-in defaults for everything else. An operator
-- adding traffic shaping wraps the shaping helper's function in the else branch.
kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  if site_name == 'mx_list:' .. LMTP_ADDRESS then
    return kumo.make_egress_path { use_lmtp = true, enable_tls = 'Disabled' }
  end
  return kumo.make_egress_path {}
end)

-------------------------------------------------------------------------------
-- 5. Listeners, spool, logs (started once; changes here need a kumod restart)
-------------------------------------------------------------------------------

kumo.on('init', function()
  kumo.define_spool {
    name = 'data',
    path = SPOOL_DIR .. '/data',
    kind = 'RocksDB',
  }
  kumo.define_spool {
    name = 'meta',
    path = SPOOL_DIR .. '/meta',
    kind = 'RocksDB',
  }

  kumo.configure_local_logs {
    log_dir = LOG_DIR,
    max_segment_duration = '1 minute',
    meta = LOGGED_META,
  }

  -- Fills bounce_classification in Bounce records.
  kumo.configure_bounce_classifier {
    files = { '/opt/kumomta/share/bounce_classifier/iana.toml' },
  }

  -- The default monitor glob covers /opt/kumomta/etc only; watch IG_DIR too if it was
  -- moved elsewhere (InboxGrove's bump is then the only other reload trigger).
  if IG_DIR:sub(1, #'/opt/kumomta/etc/') ~= '/opt/kumomta/etc/' then
    kumo.set_config_monitor_globs {
      '/opt/kumomta/etc/**/*.{lua,json,toml,yaml}',
      IG_DIR .. '/**/*.{json,toml}',
    }
  end

  kumo.start_http_listener {
    listen = HTTP_LISTEN,
    trusted_hosts = HTTP_TRUSTED_HOSTS,
  }

  -- Customer submission. EHLO offers AUTH PLAIN only after STARTTLS. relay_hosts = {}
  -- drops the default localhost relay grant: relaying needs AUTH (relay_from_authz).
  kumo.start_esmtp_listener {
    listen = SUBMISSION_LISTEN,
    hostname = SUBMISSION_HOSTNAME,
    relay_hosts = {},
    tls_certificate = TLS_CERTIFICATE,
    tls_private_key = TLS_PRIVATE_KEY,
    -- X-KumoRef carries tenant/x_inbox_id/x_ig_msg so that a complaint (Feedback record,
    -- whose own meta is the report's) can be traced back to the delivered message. Base64,
    -- NOT encrypted: these are public (which is why InboxGrove checks the message id).
    trace_headers = {
      supplemental_header = true,
      include_meta_names = TRACE_META,
    },
  }

  if MX_LISTEN then
    -- Accepts mail for hosted domains (live mailboxes only) and FBL reports for the
    -- domains in listener_domains_static.toml; nothing else relays through it.
    kumo.start_esmtp_listener {
      listen = MX_LISTEN,
      hostname = MX_HOSTNAME,
      relay_hosts = {},
    }
  end
end)

-------------------------------------------------------------------------------
-- 6. Reception: identity, sender binding, tenant tagging, DKIM (last)
-------------------------------------------------------------------------------

local function refuse(why)
  kumo.reject(550, '5.7.1 ' .. why)
end

kumo.on('smtp_server_message_received', function(msg, conn_meta)
  local authz = conn_meta:get_meta 'authz_id'
  if not authz then
    -- Not a customer: inbound mail for a live hosted mailbox (queued for LMTP), or an FBL
    -- report (logged by the listener-domain rules after this event, then dropped).
    -- Nothing unauthenticated relays elsewhere: relay_hosts = {}.
    return
  end

  -- Re-check the login: it may have been suspended since AUTH on this connection.
  local ok, u = pcall(lookup_user, authz)
  if not ok then
    kumo.log_error('inboxgrove: auth data unavailable: ' .. tostring(u))
    kumo.reject(451, '4.7.0 temporarily unable to accept mail, try again later')
  end
  if not u or not u.active then
    refuse 'sending is suspended for this mailbox'
  end

  -- relay_from_authz only binds "some mailbox of this domain", and DKIM signs whatever
  -- domain the From header names: require envelope sender == From == the mailbox.
  if string.lower(msg:sender().email or '') ~= authz then
    refuse('the envelope sender must be ' .. authz)
  end
  local from = msg:from_header()
  local from_ok, from_email = pcall(function()
    return from.email -- raises for a From with several addresses or a group
  end)
  if not from or not from_ok or string.lower(from_email or '') ~= authz then
    refuse('the From address must be ' .. authz)
  end
  -- DKIM data is keyed by the lower-case domain (looked up case-sensitively).
  if from.domain ~= string.lower(from.domain) then
    refuse('write the From address in lower case: ' .. authz)
  end

  -- The daily allowance (warm-up stage or daily cap, whichever is lower), counted per
  -- message (this event runs once per recipient) per UTC day. The bucket is named by the
  -- inbox, the day and the allowance, and refills too slowly to matter (N per 365 days),
  -- so it is a calendar-day counter; a new allowance starts a new count. Several kumod
  -- nodes share it through Redis: kumo.configure_redis_throttles in the init event.
  local allowance = u.daily_allowance
  local day = os.date('!%Y%m%d')
  local count = kumo.make_throttle(
    string.format('ig-daily-%s-%s-%d', u.inbox_id, day, allowance),
    string.format('%d/365d,max_burst=%d', math.max(allowance, 1), math.max(allowance, 1))
  )
  if allowance < 1 or count:throttle().throttled then
    kumo.reject(
      451,
      string.format(
        '4.7.1 daily sending limit reached: %s may send %d messages today (warm-up day %d); try again tomorrow',
        authz,
        allowance,
        u.warmup_day
      )
    )
  end

  -- Tenant identity comes from the login, never from a header. The queue becomes
  -- <tenant>@<destination>, which suspend/v1 and bounce/v1 {"tenant": ...} match.
  msg:set_meta('tenant', u.tenant)
  msg:set_meta('x_inbox_id', u.inbox_id)
  msg:set_meta('x_ig_msg', msg:id())

  local failed = msg:check_fix_conformance('NON_CANONICAL_LINE_ENDINGS', '')
  if failed then
    kumo.reject(552, '5.6.0 ' .. failed)
  end

  -- MUST stay last: nothing may change the message after it is signed. A signing
  -- failure (missing key, bad data file) defers rather than sending unsigned mail.
  local signed, err = pcall(dkim_signer, msg)
  if not signed then
    kumo.log_error('inboxgrove: DKIM signing failed for ' .. authz .. ': ' .. tostring(err))
    kumo.reject(451, '4.7.0 temporarily unable to sign, try again later')
  end
end)

-------------------------------------------------------------------------------
-- 7. kumod --validate: also check the login data and the webhook token
-------------------------------------------------------------------------------

kumo.on('validate_config', function()
  for _, path in ipairs(kumo.fs.uncached_glob(AUTH_GLOB)) do
    local data, err = read_auth_file(path)
    if not data then
      kumo.validation_failed()
      print(string.format('%s: %s', path, err))
    end
  end
  local ok, err = pcall(webhook_token)
  if not ok then
    kumo.validation_failed()
    print('webhook token: ' .. tostring(err))
  end
end)
