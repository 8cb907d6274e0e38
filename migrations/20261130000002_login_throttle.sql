-- Login throttling per (email, address), per address (an IPv6 /64) and per email, without
-- raw emails: `email_key` is HMAC-SHA256 of the lower-cased email under a key derived from
-- INBOXGROVE_SECRET_KEY. `ip` now holds the address key (IPv4, or the IPv6 /64 prefix).
-- The rows are short-lived throttle state (pruned hourly): dropping the old ones loses nothing.
DELETE FROM auth_failures;
ALTER TABLE auth_failures DROP COLUMN email;  -- drops auth_failures_email_idx with it
ALTER TABLE auth_failures ADD COLUMN email_key bytea NOT NULL;
CREATE INDEX auth_failures_email_key_idx ON auth_failures (kind, email_key, at);
CREATE INDEX auth_failures_at_idx ON auth_failures (at);

-- The one-time sign-in code mailed to a user whose email had too many failed logins: one
-- live code per user, stored only as an HMAC (bound to the user), single-use, short-lived,
-- void after `login_code_max_attempts` wrong tries. Not tenant-owned (users are global).
CREATE TABLE login_codes (
    user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code_mac   bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_codes_expires_idx ON login_codes (expires_at);
