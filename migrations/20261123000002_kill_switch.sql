-- The kill switch reaches the relay: a suspension remembers the id of the tenant-scoped hold it
-- placed at KumoMTA (re-asserted while open: kumod keeps holds in memory only) and when that
-- hold was released after the suspension was lifted. Who suspended, by id, for the trail.
ALTER TABLE suspensions
    ADD COLUMN relay_id          text,
    ADD COLUMN relay_released_at timestamptz,
    ADD COLUMN actor_id          uuid;
CREATE INDEX suspensions_open_idx ON suspensions (tenant_id) WHERE lifted_at IS NULL;
