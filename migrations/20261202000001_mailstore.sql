-- Mailboxes that really work (issue 17): one password record for SMTP and IMAP, the mail
-- store's login check, and what the relay is told each inbox may send.

-- 1: hex(SHA-256(salt || ':' || password)), which no Dovecot scheme reads.
-- 2: hex(SHA-256(password || salt)): KumoMTA's Lua and Dovecot's {SSHA256.HEX} both verify it.
-- Existing rows are 1 until the `inbox_rehash` job (enqueued below) re-hashes them from their
-- sealed passwords and republishes their tenants; new rows are written as 2.
-- The data updates below touch every tenant's rows (FORCEd row-level security).
SET LOCAL app.rls_scope = 'system';

ALTER TABLE inboxes ADD COLUMN password_scheme smallint NOT NULL DEFAULT 2
    CHECK (password_scheme IN (1, 2));
UPDATE inboxes SET password_scheme = 1 WHERE password_sha256 IS NOT NULL;
CREATE INDEX inboxes_rehash_idx ON inboxes (id) WHERE password_scheme = 1;

-- When the relay and the mail store were last given this inbox's login, and when the mail
-- store last accepted it (an IMAP LOGIN with the issued password). An inbox becomes `active`
-- only after that check passes.
ALTER TABLE inboxes
    ADD COLUMN published_at      timestamptz,
    ADD COLUMN login_checked_at  timestamptz,
    ADD COLUMN login_check_error text;
UPDATE inboxes SET published_at = updated_at WHERE status = 'active';
CREATE INDEX inboxes_login_check_idx ON inboxes (tenant_id)
    WHERE status = 'pending_relay' AND published_at IS NOT NULL;

INSERT INTO jobs (id, kind, payload, max_attempts, dedupe_key)
SELECT gen_random_uuid(), 'inbox_rehash', '{}', 20, 'inbox_rehash:scheme2'
 WHERE EXISTS (SELECT 1 FROM inboxes WHERE password_scheme = 1);
