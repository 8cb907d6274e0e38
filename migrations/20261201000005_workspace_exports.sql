-- "Take your data out": one archive per request, built by a durable job, downloaded through a
-- mailed link whose token only the SHA-256 of is kept; it expires.
CREATE TABLE workspace_exports (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    requested_by        uuid REFERENCES users (id) ON DELETE SET NULL,
    include_credentials boolean NOT NULL,
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready')),
    archive             bytea,
    token_hash          bytea,
    expires_at          timestamptz,
    downloads           integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT workspace_exports_ready CHECK (status <> 'ready' OR (archive IS NOT NULL AND token_hash IS NOT NULL AND expires_at IS NOT NULL))
);
CREATE INDEX workspace_exports_tenant_idx ON workspace_exports (tenant_id, created_at DESC);

ALTER TABLE workspace_exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_exports FORCE ROW LEVEL SECURITY;
CREATE POLICY system_path ON workspace_exports
    USING (current_setting('app.rls_scope', true) = 'system')
    WITH CHECK (current_setting('app.rls_scope', true) = 'system');
CREATE POLICY tenant_rows ON workspace_exports
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
