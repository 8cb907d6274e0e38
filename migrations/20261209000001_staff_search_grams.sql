-- Staff tenant search at scale. The search is a case-insensitive substring match over workspace
-- names, member emails and domain names. Under row-level security Postgres will not use an
-- index for ILIKE (it is not leakproof, so it may not run before the policy), and a scan of
-- 100,000 domains and 20,000 names takes half a second. Text equality is leakproof: this table
-- holds every 3-character piece (lower-cased) of those three texts per workspace, counted by
-- how many texts give it, so a search first finds the workspaces holding all of the query's
-- pieces through the primary key, then checks the real match on those few alone.
CREATE TABLE search_grams (
    gram text NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    n integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (gram, tenant_id)
);
CREATE INDEX search_grams_tenant_idx ON search_grams (tenant_id);

ALTER TABLE search_grams ENABLE ROW LEVEL SECURITY;
ALTER TABLE search_grams FORCE ROW LEVEL SECURITY;
-- The settings read once per statement (see 20261209000003_rls_once_per_statement.sql).
CREATE POLICY system_path ON search_grams
    USING ((SELECT current_setting('app.rls_scope', true)) = 'system')
    WITH CHECK ((SELECT current_setting('app.rls_scope', true)) = 'system');
CREATE POLICY tenant_rows ON search_grams
    USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid));

-- The distinct 3-character pieces of a text, as the search cuts its query (db::admin::search).
CREATE FUNCTION search_grams_of(s text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT DISTINCT substr(lower(s), i, 3) FROM generate_series(1, length(s) - 2) AS i
$$;

-- Counts a text's pieces in (delta 1) or out (delta -1) of a workspace's.
CREATE FUNCTION search_grams_bump(t uuid, s text, delta integer) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    IF t IS NULL OR s IS NULL OR length(s) < 3 THEN
        RETURN;
    END IF;
    IF delta > 0 THEN
        INSERT INTO search_grams (gram, tenant_id, n)
        SELECT g, t, 1 FROM search_grams_of(s) AS g
        ON CONFLICT (gram, tenant_id) DO UPDATE SET n = search_grams.n + 1;
    ELSE
        DELETE FROM search_grams
         WHERE tenant_id = t AND n <= 1 AND gram IN (SELECT search_grams_of(s));
        UPDATE search_grams SET n = n - 1
         WHERE tenant_id = t AND gram IN (SELECT search_grams_of(s));
    END IF;
END
$$;

-- Each trigger below takes the old text's pieces out (UPDATE, DELETE) and puts the new one's in
-- (INSERT, UPDATE); an UPDATE that leaves the text alone does nothing.
CREATE FUNCTION search_grams_tenants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name IS NOT DISTINCT FROM OLD.name THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM search_grams_bump(OLD.id, OLD.name, -1);
    END IF;
    PERFORM search_grams_bump(NEW.id, NEW.name, 1);
    RETURN NULL;
END
$$;
CREATE TRIGGER search_grams AFTER INSERT OR UPDATE OF name ON tenants
    FOR EACH ROW EXECUTE FUNCTION search_grams_tenants();

CREATE FUNCTION search_grams_domains() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name IS NOT DISTINCT FROM OLD.name
        AND NEW.tenant_id IS NOT DISTINCT FROM OLD.tenant_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM search_grams_bump(OLD.tenant_id, OLD.name, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM search_grams_bump(NEW.tenant_id, NEW.name, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER search_grams AFTER INSERT OR DELETE OR UPDATE OF name, tenant_id ON domains
    FOR EACH ROW EXECUTE FUNCTION search_grams_domains();

CREATE FUNCTION search_grams_memberships() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM search_grams_bump(OLD.tenant_id, (SELECT email FROM users WHERE id = OLD.user_id), -1);
    ELSE
        PERFORM search_grams_bump(NEW.tenant_id, (SELECT email FROM users WHERE id = NEW.user_id), 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER search_grams AFTER INSERT OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION search_grams_memberships();

-- A user's email counts in each workspace it is a member of. A deleted user's memberships go
-- by cascade, after the user row, when their own trigger can no longer read the email: so the
-- user's trigger takes its pieces out BEFORE the delete.
CREATE FUNCTION search_grams_users() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.email IS NOT DISTINCT FROM OLD.email THEN
        RETURN NULL;
    END IF;
    FOR t IN SELECT tenant_id FROM memberships WHERE user_id = OLD.id LOOP
        PERFORM search_grams_bump(t, OLD.email, -1);
        IF TG_OP = 'UPDATE' THEN
            PERFORM search_grams_bump(t, NEW.email, 1);
        END IF;
    END LOOP;
    RETURN OLD;
END
$$;
CREATE TRIGGER search_grams AFTER UPDATE OF email ON users
    FOR EACH ROW EXECUTE FUNCTION search_grams_users();
CREATE TRIGGER search_grams_gone BEFORE DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION search_grams_users();

-- What exists already.
INSERT INTO search_grams (gram, tenant_id, n)
SELECT g, tenant_id, count(*)
  FROM (SELECT id AS tenant_id, name AS s FROM tenants
        UNION ALL SELECT m.tenant_id, u.email FROM memberships m JOIN users u ON u.id = m.user_id
        UNION ALL SELECT tenant_id, name FROM domains) AS texts,
       LATERAL search_grams_of(s) AS g
 GROUP BY g, tenant_id;
