-- Staff search over every workspace (name, member email, domain contains the text) on trigram
-- indexes: with 20,000 workspaces and 100,000 domains the old correlated scans took seconds.
-- pg_trgm is a trusted extension: the database's owner (the app's role) may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tenants_name_trgm_idx ON tenants USING gin (name gin_trgm_ops);
CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
CREATE INDEX domains_name_trgm_idx ON domains USING gin (name gin_trgm_ops);
-- The staff list's newest workspaces first, without sorting them all.
CREATE INDEX tenants_created_idx ON tenants (created_at DESC);
