-- The auth cache (src/server/auth/cache.rs): every process keeps session records and members'
-- admissions between changes, and these triggers tell it of a change (NOTIFY ig_auth_cache).
-- A session record updated or deleted names itself; any write that can change an admission
-- (membership, role, verified address, open suspension, signed-out browser, closed workspace,
-- 2FA duty or secret) names its table, and every kept admission is dropped.

-- The session store's table (tower-sessions-sqlx-store creates the same, if missing, at start).
CREATE SCHEMA IF NOT EXISTS tower_sessions;
CREATE TABLE IF NOT EXISTS tower_sessions.session (
    id text PRIMARY KEY NOT NULL,
    data bytea NOT NULL,
    expiry_date timestamptz NOT NULL
);

CREATE FUNCTION auth_cache_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ig_auth_cache', 'session:' || OLD.id);
    RETURN NULL;
END $$;

CREATE TRIGGER auth_cache AFTER UPDATE OR DELETE ON tower_sessions.session
    FOR EACH ROW EXECUTE FUNCTION auth_cache_session_changed();

CREATE FUNCTION auth_cache_admission_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ig_auth_cache', TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE TRIGGER auth_cache AFTER UPDATE OR DELETE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION auth_cache_admission_changed();
CREATE TRIGGER auth_cache AFTER UPDATE OF email_verified_at, is_staff OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION auth_cache_admission_changed();
CREATE TRIGGER auth_cache AFTER DELETE ON user_sessions
    FOR EACH STATEMENT EXECUTE FUNCTION auth_cache_admission_changed();
CREATE TRIGGER auth_cache AFTER INSERT OR UPDATE OR DELETE ON suspensions
    FOR EACH STATEMENT EXECUTE FUNCTION auth_cache_admission_changed();
CREATE TRIGGER auth_cache AFTER UPDATE OF status, require_2fa OR DELETE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION auth_cache_admission_changed();
CREATE TRIGGER auth_cache AFTER INSERT OR UPDATE OR DELETE ON user_totp
    FOR EACH STATEMENT EXECUTE FUNCTION auth_cache_admission_changed();
