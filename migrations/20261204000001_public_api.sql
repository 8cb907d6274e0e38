-- The public API: scoped keys, metered calls, outbound webhooks, and the customer's own keys
-- for the cold-email tools we push inboxes to.

-- A key acts for one workspace, with the scopes it was given and never beyond its creator's
-- current role there. Only its SHA-256 is kept (the key carries 256 random bits); `prefix` is
-- the visible, unique start of the key that finds the row.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_by   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    prefix       text NOT NULL UNIQUE,
    secret_hash  bytea NOT NULL,
    scopes       text[] NOT NULL
        CHECK (scopes <@ ARRAY['read', 'domains:write', 'inboxes:write', 'credentials:read']
               AND cardinality(scopes) > 0),
    expires_at   timestamptz,
    last_used_at timestamptz,
    last_used_ip text,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at DESC);

-- Calls per workspace and calendar month (UTC), flushed in batches by each app process.
CREATE TABLE api_usage (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month     date NOT NULL,
    calls     bigint NOT NULL DEFAULT 0 CHECK (calls >= 0),
    PRIMARY KEY (tenant_id, month)
);

-- The API's cursor over a workspace's inboxes.
CREATE INDEX inboxes_tenant_id_idx ON inboxes (tenant_id, id) WHERE status <> 'deleted';

-- Outbound webhooks (Standard Webhooks): the secret is sealed (it signs, so it must be read);
-- a rotated-out secret keeps signing beside the new one until `previous_until`.
CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url             text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    events          text[] NOT NULL CHECK (cardinality(events) > 0),
    secret_sealed   bytea NOT NULL,
    previous_sealed bytea,
    previous_until  timestamptz,
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text,
    failing_since   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, created_at);

CREATE TABLE webhook_deliveries (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    endpoint_id   uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event         text NOT NULL,
    payload       jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed', 'given_up')),
    attempts      int NOT NULL DEFAULT 0,
    last_status   int,
    last_ms       int,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC);

-- Every attempt, with the response's status and how long it took.
CREATE TABLE webhook_attempts (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    status      int,
    ms          int NOT NULL,
    error       text
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, at);

-- The customer's own API key for a cold-email tool, sealed.
CREATE TABLE tool_connections (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    tool       text NOT NULL CHECK (tool IN ('instantly', 'smartlead')),
    key_sealed bytea NOT NULL,
    key_hint   text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, tool)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['api_keys', 'api_usage', 'webhook_endpoints', 'webhook_deliveries',
                             'webhook_attempts', 'tool_connections'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY system_path ON %I
                 USING (current_setting(''app.rls_scope'', true) = ''system'')
                 WITH CHECK (current_setting(''app.rls_scope'', true) = ''system'')', t);
        EXECUTE format(
            'CREATE POLICY tenant_rows ON %I
                 USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)
                 WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)',
            t);
    END LOOP;
END $$;
