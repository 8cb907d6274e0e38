-- Deliverability (issue 18): daily rollups the pages read, health scores with their reasons,
-- and blocklist listings.

-- Per day, at three levels: the workspace (domain_id and inbox_id nil), each domain (inbox_id
-- nil) and each inbox. A workspace or domain page over 90 days reads at most 90 rows through
-- the primary key, however many records or inboxes there are. `sandbox` counts the records
-- the sandbox relay made up, so pages can say their data is sample data.
CREATE TABLE delivery_daily (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    domain_id    uuid NOT NULL,
    inbox_id     uuid NOT NULL,
    day          date NOT NULL,
    delivered    bigint NOT NULL DEFAULT 0,
    hard_bounces bigint NOT NULL DEFAULT 0,
    soft_bounces bigint NOT NULL DEFAULT 0,
    complaints   bigint NOT NULL DEFAULT 0,
    sandbox      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, domain_id, inbox_id, day)
);
-- Scores read a tenant's domain and inbox rows of the last days (the primary key has the day
-- last, so it would walk the tenant's whole history).
CREATE INDEX delivery_daily_recent_idx ON delivery_daily (tenant_id, day)
    INCLUDE (domain_id, inbox_id, delivered, hard_bounces, soft_bounces, complaints)
    WHERE domain_id <> '00000000-0000-0000-0000-000000000000';
-- Staff rank tenants over 7 days: the workspace-level rows of every tenant by day.
CREATE INDEX delivery_daily_day_idx ON delivery_daily (day)
    WHERE domain_id = '00000000-0000-0000-0000-000000000000';

-- Staff rank tenants over the last 24 hours from the hourly table, across tenants.
CREATE INDEX delivery_counts_hour_idx ON delivery_counts (hour);

-- The counts so far, from the hourly table (it has every record since the inboxes issue).
INSERT INTO delivery_daily (tenant_id, domain_id, inbox_id, day, delivered, hard_bounces,
                            soft_bounces, complaints)
SELECT tenant_id, d, i, (hour AT TIME ZONE 'UTC')::date,
       COALESCE(sum(count) FILTER (WHERE kind = 'Delivery'), 0),
       COALESCE(sum(count) FILTER (WHERE kind = 'Bounce'), 0),
       COALESCE(sum(count) FILTER (WHERE kind = 'TransientFailure'), 0),
       COALESCE(sum(count) FILTER (WHERE kind = 'Feedback'), 0)
  FROM delivery_counts,
       LATERAL (VALUES
           ('00000000-0000-0000-0000-000000000000'::uuid, '00000000-0000-0000-0000-000000000000'::uuid),
           (COALESCE(domain_id, '00000000-0000-0000-0000-000000000000'), '00000000-0000-0000-0000-000000000000'),
           (COALESCE(domain_id, '00000000-0000-0000-0000-000000000000'), COALESCE(inbox_id, '00000000-0000-0000-0000-000000000000'))
       ) AS level(d, i)
 GROUP BY 1, 2, 3, 4
ON CONFLICT DO NOTHING;

-- The latest score of every domain and inbox, with the reasons in plain words. `alerted_at`:
-- when the owner was mailed that it fell below "at risk"; cleared when it recovers, so each
-- drop mails once.
CREATE TABLE health_scores (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    subject_kind text NOT NULL CHECK (subject_kind IN ('domain', 'inbox')),
    subject_id   uuid NOT NULL,
    domain_id    uuid NOT NULL,
    score        smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
    level        text NOT NULL CHECK (level IN ('good', 'watch', 'at_risk')),
    reasons      jsonb NOT NULL DEFAULT '[]',
    sent         bigint NOT NULL DEFAULT 0,
    bounce_rate  double precision NOT NULL DEFAULT 0,
    complaint_rate double precision NOT NULL DEFAULT 0,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    alerted_at   timestamptz,
    PRIMARY KEY (tenant_id, subject_kind, subject_id)
);
-- The dashboard's three worst inboxes, and a domain's worst.
CREATE INDEX health_scores_worst_idx ON health_scores (tenant_id, subject_kind, score, subject_id);
CREATE INDEX health_scores_domain_idx ON health_scores (tenant_id, subject_kind, domain_id, score, subject_id);

-- A name or address on a blocklist. Open while `cleared_at` is NULL; delisting closes it.
-- Domain listings carry their tenant; the relay's IPs belong to no tenant (staff and every
-- score read them through the system path).
CREATE TABLE blocklist_listings (
    id           bigserial PRIMARY KEY,
    subject_kind text NOT NULL CHECK (subject_kind IN ('domain', 'ip')),
    subject      text NOT NULL,
    zone         text NOT NULL,
    list_name    text NOT NULL,
    tenant_id    uuid REFERENCES tenants (id) ON DELETE CASCADE,
    domain_id    uuid,
    answer       text NOT NULL,
    listed_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    cleared_at   timestamptz,
    -- When the owner was told (mail, and the suspension the settings ask for): a failure is
    -- retried on the next check until it is set.
    notified_at  timestamptz
);
CREATE UNIQUE INDEX blocklist_listings_open_key ON blocklist_listings (subject_kind, subject, zone)
    WHERE cleared_at IS NULL;
CREATE INDEX blocklist_listings_tenant_idx ON blocklist_listings (tenant_id, domain_id)
    WHERE cleared_at IS NULL;

-- When each domain was last looked up, and how that went: clean, listed, or unknown (the
-- resolver refused, was over quota or did not answer: never a listing).
ALTER TABLE domains
    ADD COLUMN blocklist_checked_at timestamptz,
    ADD COLUMN blocklist_status text NOT NULL DEFAULT 'unchecked'
        CHECK (blocklist_status IN ('unchecked', 'clean', 'listed', 'unknown')),
    ADD COLUMN blocklist_note text;

-- The relay's sending IPs, checked the same way (no tenant: system path only).
CREATE TABLE blocklist_ip_checks (
    ip         text PRIMARY KEY,
    checked_at timestamptz NOT NULL DEFAULT now(),
    status     text NOT NULL CHECK (status IN ('clean', 'listed', 'unknown')),
    note       text
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['delivery_daily', 'health_scores', 'blocklist_listings'] LOOP
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
