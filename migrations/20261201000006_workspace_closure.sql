-- Closing a workspace: a durable, resumable job like the purchase saga. The closure row keeps
-- what the final mail needs (the people are deleted on the way); each step is recorded once
-- done, so a crash resumes at the first step not done.
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('active', 'suspended', 'closed'));

CREATE TABLE workspace_closures (
    tenant_id      uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    workspace_name text NOT NULL,
    notify_email   text,
    requested_by   text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);

CREATE TABLE workspace_closure_steps (
    tenant_id uuid NOT NULL REFERENCES workspace_closures (tenant_id) ON DELETE CASCADE,
    step      text NOT NULL,
    detail    jsonb NOT NULL DEFAULT '{}',
    done_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, step)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['workspace_closures', 'workspace_closure_steps'] LOOP
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

-- The trail stays append-only, with one exception: closing a workspace pseudonymises its rows
-- (who, from where, with what) in a transaction that says so (`SET LOCAL
-- app.audit_pseudonymise = 'on'`), and even then what happened — the action, its target, its
-- time, its tenant — cannot change. Deleting stays refused.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('app.audit_pseudonymise', true) = 'on'
       AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor_kind = OLD.actor_kind
       AND NEW.action = OLD.action AND NEW.target = OLD.target
       AND NEW.tenant_id IS NOT DISTINCT FROM OLD.tenant_id
       AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
