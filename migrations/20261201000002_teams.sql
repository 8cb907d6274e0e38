-- Teams: a workspace invites people by email, with a role. The link carries a random token of
-- which only the SHA-256 is stored; it works once, for 7 days, until revoked.
CREATE TABLE invitations (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash  bytea NOT NULL CONSTRAINT invitations_token_key UNIQUE,
    invited_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at  timestamptz
);
-- One open invitation per address and workspace: inviting again replaces it.
CREATE UNIQUE INDEX invitations_open_idx ON invitations (tenant_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY system_path ON invitations
    USING (current_setting('app.rls_scope', true) = 'system')
    WITH CHECK (current_setting('app.rls_scope', true) = 'system');
CREATE POLICY tenant_rows ON invitations
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
