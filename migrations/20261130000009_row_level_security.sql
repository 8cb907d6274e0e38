-- Row-level security: a second wall behind every `WHERE tenant_id = $1`.
--
-- Two per-connection settings decide what a session sees:
--   app.tenant_id   set by the app with SET LOCAL inside a tenant's transaction (TenantCtx):
--                   the session sees that tenant's rows only.
--   app.rls_scope   'system' on the app's explicit system pool (staff, webhooks, jobs, auth,
--                   cross-tenant checks): every row.
-- Neither set: no tenant-owned row at all (default deny).
--
-- The app's role owns these tables, and owners skip RLS unless it is FORCEd; superusers and
-- BYPASSRLS roles always skip it, so the app must connect as neither (see README, Deploy).
--
-- Generic on purpose: every table in `public` with a `tenant_id` column gets the policies,
-- including those added by earlier migrations of other work in flight. Tables created later
-- must do the same; tests/api/rls.rs fails while one does not.
DO $$
DECLARE
    t text;
    -- Staff-only data about a tenant: the system path reads it, a tenant's own session never.
    system_only constant text[] := ARRAY['tenant_notes'];
BEGIN
    FOR t IN
        SELECT c.relname
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
           AND a.attname = 'tenant_id' AND NOT a.attisdropped
         ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY system_path ON %I
                 USING (current_setting(''app.rls_scope'', true) = ''system'')
                 WITH CHECK (current_setting(''app.rls_scope'', true) = ''system'')', t);
        IF NOT t = ANY (system_only) THEN
            EXECUTE format(
                'CREATE POLICY tenant_rows ON %I
                     USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)
                     WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)',
                t);
        END IF;
    END LOOP;
END $$;

-- The tenant itself, by its id.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY system_path ON tenants
    USING (current_setting('app.rls_scope', true) = 'system')
    WITH CHECK (current_setting('app.rls_scope', true) = 'system');
CREATE POLICY tenant_rows ON tenants
    USING (id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- Owned through a parent: a row is visible when its parent is (the subquery is itself under
-- the parent's policies).
ALTER TABLE domain_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE domain_records FORCE ROW LEVEL SECURITY;
CREATE POLICY system_path ON domain_records
    USING (current_setting('app.rls_scope', true) = 'system')
    WITH CHECK (current_setting('app.rls_scope', true) = 'system');
CREATE POLICY tenant_rows ON domain_records
    USING (EXISTS (SELECT 1 FROM domains d WHERE d.id = domain_records.domain_id))
    WITH CHECK (EXISTS (SELECT 1 FROM domains d WHERE d.id = domain_records.domain_id));

ALTER TABLE domain_saga_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE domain_saga_steps FORCE ROW LEVEL SECURITY;
CREATE POLICY system_path ON domain_saga_steps
    USING (current_setting('app.rls_scope', true) = 'system')
    WITH CHECK (current_setting('app.rls_scope', true) = 'system');
CREATE POLICY tenant_rows ON domain_saga_steps
    USING (EXISTS (SELECT 1 FROM domains d WHERE d.id = domain_saga_steps.domain_id))
    WITH CHECK (EXISTS (SELECT 1 FROM domains d WHERE d.id = domain_saga_steps.domain_id));

-- People: a tenant's session sees its own members (emails, password hashes) and nobody else.
-- Signup, login and staff go through the system path.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY system_path ON users
    USING (current_setting('app.rls_scope', true) = 'system')
    WITH CHECK (current_setting('app.rls_scope', true) = 'system');
CREATE POLICY tenant_rows ON users
    USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id));
