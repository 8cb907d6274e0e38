-- Staff actions of the admin panel.

-- A refund staff issued for one ledger entry: at most one per entry (the primary key), so a
-- double click or a second member of staff cannot refund the same charge twice. The money
-- itself reaches the ledger through the provider's `charge.refunded` event, like any refund.
CREATE TABLE admin_refunds (
    ledger_entry_id bigint PRIMARY KEY REFERENCES ledger_entries (id),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    refund_id       text NOT NULL,
    amount_cents    bigint NOT NULL CHECK (amount_cents > 0),
    currency        text NOT NULL,
    actor           text NOT NULL,
    reason          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_refunds_tenant_idx ON admin_refunds (tenant_id);

-- Internal notes on a tenant: staff only, never shown to the customer.
CREATE TABLE tenant_notes (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    author     text NOT NULL,
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_notes_tenant_idx ON tenant_notes (tenant_id, created_at DESC);

-- The staff trail filters by actor kind.
CREATE INDEX audit_log_actor_idx ON audit_log (actor_kind, id DESC);
