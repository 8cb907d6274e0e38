-- Domain renewals: bought domains renew themselves before they expire (switchable per domain),
-- charged off-session to the card on file. One row per (domain, expiry being extended): the
-- renewal of one registration year, so nothing is renewed or charged twice for it.
ALTER TABLE domains
    ADD COLUMN auto_renew boolean NOT NULL DEFAULT true,
    -- ok: nothing to do; expiring: a renewal failed (or auto-renew is off) and it expires soon;
    -- expired: the registration ended without a renewal.
    ADD COLUMN renewal_state text NOT NULL DEFAULT 'ok'
        CHECK (renewal_state IN ('ok', 'expiring', 'expired')),
    ADD COLUMN renewal_error text CHECK (length(renewal_error) <= 500);

CREATE INDEX domains_expiry_idx ON domains (expires_at)
    WHERE kind = 'purchased' AND expires_at IS NOT NULL
      AND status NOT IN ('pending_payment', 'failed', 'deleted');

CREATE TABLE domain_renewals (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    domain_id         uuid NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    -- the expiry this renewal extends: the key of "this year's renewal"
    expires_from      timestamptz NOT NULL,
    -- pending: not charged yet; charged: paid, registrar not done; renewed: done;
    -- failed: never charged (card declined every time); refunded: charged, registrar refused,
    -- money returned.
    status            text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'charged', 'renewed', 'failed', 'refunded')),
    amount_cents      bigint NOT NULL CHECK (amount_cents > 0),
    currency          text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    -- declined charges so far: each new try uses a new idempotency key, a retry after a
    -- network error reuses the last one (so it can never charge twice)
    charge_attempts   int NOT NULL DEFAULT 0,
    registrar_tries   int NOT NULL DEFAULT 0,
    payment_intent_id text,
    expires_to        timestamptz,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT domain_renewals_term_key UNIQUE (domain_id, expires_from),
    CONSTRAINT domain_renewals_charged CHECK (status NOT IN ('charged', 'renewed', 'refunded')
                                              OR payment_intent_id IS NOT NULL)
);
CREATE INDEX domain_renewals_tenant_idx ON domain_renewals (tenant_id, created_at DESC);

ALTER TABLE domain_renewals ENABLE ROW LEVEL SECURITY;
ALTER TABLE domain_renewals FORCE ROW LEVEL SECURITY;
CREATE POLICY system_path ON domain_renewals
    USING (current_setting('app.rls_scope', true) = 'system')
    WITH CHECK (current_setting('app.rls_scope', true) = 'system');
CREATE POLICY tenant_rows ON domain_renewals
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
