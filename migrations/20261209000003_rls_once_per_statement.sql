-- Row-level security read once per statement instead of once per row. The policies compared
-- each row with current_setting(...), a function call per row and per policy: counting a
-- workspace's 10,000 inboxes spent most of its 23 ms there. Wrapped in a scalar subquery the
-- setting becomes an InitPlan, evaluated once per statement, and the comparison a parameter
-- (the same rows pass: a setting cannot change inside a statement). Policies made later must
-- use this form too (rls::every_policy_reads_its_settings_once_per_statement).
DO $$
DECLARE
    p record;
    scope constant text := '(SELECT current_setting(''app.rls_scope'', true)) = ''system''';
    tenant constant text := '(SELECT nullif(current_setting(''app.tenant_id'', true), '''')::uuid)';
BEGIN
    FOR p IN SELECT tablename, policyname, qual FROM pg_policies WHERE schemaname = current_schema() LOOP
        IF p.policyname = 'system_path' THEN
            EXECUTE format('ALTER POLICY system_path ON %I USING (%s) WITH CHECK (%s)',
                           p.tablename, scope, scope);
        ELSIF p.policyname = 'tenant_rows' AND p.qual LIKE '(tenant_id = (NULLIF(current_setting(''app.tenant_id''%' THEN
            EXECUTE format('ALTER POLICY tenant_rows ON %I USING (tenant_id = %s) WITH CHECK (tenant_id = %s)',
                           p.tablename, tenant, tenant);
        ELSIF p.policyname = 'tenant_rows' AND p.qual LIKE '(id = (NULLIF(current_setting(''app.tenant_id''%' THEN
            EXECUTE format('ALTER POLICY tenant_rows ON %I USING (id = %s) WITH CHECK (id = %s)',
                           p.tablename, tenant, tenant);
        END IF;
    END LOOP;
END $$;
