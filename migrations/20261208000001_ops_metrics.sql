-- /metrics reads the failed jobs of the last hour at every scrape: an index on just those rows,
-- so a scrape never walks the whole (growing) history of finished jobs.
CREATE INDEX jobs_failed_recent_idx ON jobs (finished_at) WHERE status = 'failed';
