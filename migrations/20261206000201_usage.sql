-- Usage and overage (issue 20): what each workspace used per month (inbox-days, emails sent,
-- API calls) as usage events, and the extra inboxes reported to Stripe's billing meter.

-- One row per (what, workspace, day): `source_key` says which, so recording is idempotent
-- however often the hourly job runs (`inbox_days:{tenant}:{YYYY-MM-DD}`, `emails_sent:…`,
-- `api_calls:…`). `month` is the first of the month on the billing clock.
CREATE TABLE usage_events (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month       date NOT NULL CHECK (extract(day FROM month) = 1),
    kind        text NOT NULL CHECK (kind IN ('inbox_days', 'emails_sent', 'api_calls')),
    quantity    bigint NOT NULL CHECK (quantity >= 0),
    source_key  text NOT NULL CHECK (length(source_key) <= 200),
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT usage_events_source_key UNIQUE (source_key)
);
CREATE INDEX usage_events_tenant_month_idx ON usage_events (tenant_id, month, kind);

-- How much of each counter source has already become usage events: per workspace, kind and
-- source period (a day of `delivery_daily`, a month of `api_usage`). Each run adds only what
-- grew since, to the billing clock's day.
CREATE TABLE usage_cursors (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('emails_sent', 'api_calls')),
    source    date NOT NULL,
    counted   bigint NOT NULL CHECK (counted >= 0),
    PRIMARY KEY (tenant_id, kind, source)
);

-- The recorder's watermark (one row): the last billing-clock day it recorded and the wall-clock
-- day it ran on, so days the clock skipped (an advanced sandbox clock, a stopped app) are
-- filled in and counters are read from where the last run stopped.
CREATE TABLE usage_recorder (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    billing_day date NOT NULL,
    wall_day    date NOT NULL,
    ran_at      timestamptz NOT NULL DEFAULT now()
);

-- The last peak of extra inboxes reported to Stripe per subscription period: the job calls
-- Stripe again only for a higher peak (each distinct peak once; a steady overage once per
-- period).
CREATE TABLE usage_overage_reports (
    subscription_id text NOT NULL,
    period_start    timestamptz NOT NULL,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id     text NOT NULL,
    peak            bigint NOT NULL CHECK (peak > 0),
    identifier      text NOT NULL,
    reported_at     timestamptz NOT NULL,
    PRIMARY KEY (subscription_id, period_start)
);
CREATE INDEX usage_overage_reports_tenant_idx ON usage_overage_reports (tenant_id, period_start DESC);

ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
CREATE POLICY system_path ON usage_events
    USING (current_setting('app.rls_scope', true) = 'system')
    WITH CHECK (current_setting('app.rls_scope', true) = 'system');
CREATE POLICY tenant_rows ON usage_events
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE usage_cursors ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_cursors FORCE ROW LEVEL SECURITY;
CREATE POLICY system_path ON usage_cursors
    USING (current_setting('app.rls_scope', true) = 'system')
    WITH CHECK (current_setting('app.rls_scope', true) = 'system');
CREATE POLICY tenant_rows ON usage_cursors
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE usage_overage_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_overage_reports FORCE ROW LEVEL SECURITY;
CREATE POLICY system_path ON usage_overage_reports
    USING (current_setting('app.rls_scope', true) = 'system')
    WITH CHECK (current_setting('app.rls_scope', true) = 'system');
CREATE POLICY tenant_rows ON usage_overage_reports
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- The sandbox Stripe's billing meter: events by identifier (a repeat is accepted and ignored,
-- as Stripe does), and the overage line it adds to a renewal invoice.
CREATE TABLE sandbox_stripe_meter_events (
    identifier  text PRIMARY KEY,
    seq         bigserial UNIQUE,
    event_name  text NOT NULL,
    customer_id text NOT NULL,
    value       bigint NOT NULL CHECK (value >= 0),
    timestamp   timestamptz NOT NULL,
    created     timestamptz NOT NULL
);
CREATE INDEX sandbox_stripe_meter_events_customer_idx
    ON sandbox_stripe_meter_events (customer_id, event_name, timestamp);

ALTER TABLE sandbox_stripe_invoices
    ADD COLUMN overage_quantity    bigint NOT NULL DEFAULT 0 CHECK (overage_quantity >= 0),
    ADD COLUMN overage_unit_amount bigint NOT NULL DEFAULT 0 CHECK (overage_unit_amount >= 0);
