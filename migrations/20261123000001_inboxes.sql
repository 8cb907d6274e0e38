-- The magic button: inbox batches, encrypted credentials, warm-up, relay publication and the
-- delivery counts KumoMTA's log hook feeds; plus the append-only audit log (credential reveals
-- and exports are audited from the start; the admin issue adds the other writers).

-- One row per "Provision" click. The idempotency key comes from the form, so a double submit
-- finds the first batch instead of making a second.
CREATE TABLE inbox_batches (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    idempotency_key text NOT NULL,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    inbox_count     integer NOT NULL CHECK (inbox_count > 0),
    convention      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, idempotency_key)
);

ALTER TABLE inboxes
    ADD COLUMN batch_id          uuid REFERENCES inbox_batches (id) ON DELETE SET NULL,
    ADD COLUMN address           text,
    ADD COLUMN first_name        text NOT NULL DEFAULT '',
    ADD COLUMN last_name         text NOT NULL DEFAULT '',
    ADD COLUMN display_name      text NOT NULL DEFAULT '',
    -- AES-256-GCM under INBOXGROVE_SECRET_KEY, bound to the inbox id (crypto::SecretBox).
    ADD COLUMN password_sealed   bytea,
    -- What the relay checks: hex(SHA-256(salt_hex || ':' || password)), published in auth.json.
    ADD COLUMN password_salt     text,
    ADD COLUMN password_sha256   text,
    ADD COLUMN daily_cap         integer NOT NULL DEFAULT 30 CHECK (daily_cap BETWEEN 1 AND 10000),
    ADD COLUMN warmup_started_at timestamptz,
    ADD COLUMN updated_at        timestamptz NOT NULL DEFAULT now();

-- statuses: pending_relay (stored, not yet at the relay), active, suspended, deleted.
ALTER TABLE inboxes ADD CONSTRAINT inboxes_status_check
    CHECK (status IN ('pending_relay', 'active', 'suspended', 'deleted'));
-- One live mailbox per address, whichever tenant (a domain has one live owner anyway).
CREATE UNIQUE INDEX inboxes_live_address_key ON inboxes (lower(address)) WHERE status <> 'deleted';
CREATE INDEX inboxes_tenant_domain_idx ON inboxes (tenant_id, domain_id, created_at);
CREATE INDEX inboxes_batch_idx ON inboxes (batch_id);

-- What was last published to the relay per tenant; a failed publish leaves `pending` true and
-- a durable job retries.
CREATE TABLE relay_publications (
    tenant_id    uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    pending      boolean NOT NULL DEFAULT true,
    -- When the latest change asked for a publish; a publish that read the data before a newer
    -- request leaves `pending` set.
    requested_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    domains      integer NOT NULL DEFAULT 0,
    users        integer NOT NULL DEFAULT 0
);

-- Delivery-log counts per tenant / domain / inbox and hour, by record type (Delivery, Bounce,
-- TransientFailure, Feedback). A record's id is kept for a while so a batch KumoMTA sends
-- twice is not counted twice.
CREATE TABLE delivery_counts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    domain_id uuid,
    inbox_id  uuid,
    hour      timestamptz NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('Delivery', 'Bounce', 'TransientFailure', 'Feedback')),
    count     bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX delivery_counts_key ON delivery_counts
    (tenant_id, COALESCE(domain_id, '00000000-0000-0000-0000-000000000000'),
     COALESCE(inbox_id, '00000000-0000-0000-0000-000000000000'), hour, kind);
CREATE INDEX delivery_counts_tenant_hour_idx ON delivery_counts (tenant_id, hour);

CREATE TABLE delivery_records_seen (
    record_key text PRIMARY KEY,
    seen_at    timestamptz NOT NULL DEFAULT now()
);

-- Append-only: a trigger refuses UPDATE and DELETE. No foreign keys: the trail outlives what
-- it names.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_kind  text NOT NULL CHECK (actor_kind IN ('user', 'staff', 'system', 'webhook')),
    actor_id    uuid,
    actor_label text NOT NULL DEFAULT '',
    tenant_id   uuid,
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb,
    ip          text,
    user_agent  text
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
