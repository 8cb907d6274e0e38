-- The staff list's newest workspaces first, without sorting them all (20,000 at scale).
CREATE INDEX tenants_created_idx ON tenants (created_at DESC);
