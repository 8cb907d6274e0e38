-- Billing: the Stripe mirror (customers, subscriptions, invoices), the events that built it,
-- the append-only ledger, suspensions, and the sandbox Stripe's own state.

CREATE TABLE billing_customers (
    tenant_id   uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id text NOT NULL CONSTRAINT billing_customers_customer_key UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every Stripe event received: stored by id and applied in the same transaction.
CREATE TABLE stripe_events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    api_version text,
    livemode    boolean NOT NULL DEFAULT false,
    created     timestamptz NOT NULL,
    object_id   text,
    tenant_id   uuid REFERENCES tenants (id) ON DELETE SET NULL,
    outcome     text NOT NULL CHECK (outcome IN ('applied', 'stale', 'ignored')),
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stripe_events_received_idx ON stripe_events (received_at DESC);
CREATE INDEX stripe_events_tenant_idx ON stripe_events (tenant_id, received_at DESC);

-- Checkout sessions we opened, so the success page can wait for the webhook.
CREATE TABLE billing_checkouts (
    id                text PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    mode              text NOT NULL CHECK (mode IN ('subscription', 'payment')),
    plan_id           text,
    purchase_id       uuid,
    url               text NOT NULL,
    status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete', 'expired')),
    payment_status    text,
    subscription_id   text,
    payment_intent_id text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz
);
CREATE INDEX billing_checkouts_tenant_idx ON billing_checkouts (tenant_id, created_at DESC);

-- The subscription mirror. Subscriptions carry no version, so each row keeps the watermark of
-- the event that wrote it and only a newer event may overwrite it.
CREATE TABLE billing_subscriptions (
    id                   text PRIMARY KEY,
    tenant_id            uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id          text NOT NULL,
    status               text NOT NULL CHECK (status IN ('incomplete', 'incomplete_expired',
                             'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused')),
    plan_id              text,
    price_id             text NOT NULL,
    item_id              text NOT NULL,
    current_period_end   timestamptz,
    trial_start          timestamptz,
    trial_end            timestamptz,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    canceled_at          timestamptz,
    ended_at             timestamptz,
    src_created          timestamptz NOT NULL,
    src_type_rank        smallint NOT NULL,
    src_status_rank      smallint NOT NULL,
    src_event_id         text NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_subscriptions_tenant_idx ON billing_subscriptions (tenant_id, src_created DESC);

CREATE TABLE billing_invoices (
    id                 text PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id        text NOT NULL,
    subscription_id    text,
    number             text,
    status             text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'uncollectible', 'void')),
    amount_due         bigint NOT NULL,
    amount_paid        bigint NOT NULL,
    currency           text NOT NULL,
    billing_reason     text,
    attempt_count      int NOT NULL DEFAULT 0,
    period_start       timestamptz,
    period_end         timestamptz,
    hosted_invoice_url text,
    invoice_pdf        text,
    created            timestamptz NOT NULL,
    paid_at            timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_invoices_tenant_idx ON billing_invoices (tenant_id, created DESC);

-- One-time charges we asked for (domain purchases use them).
CREATE TABLE billing_payments (
    payment_intent_id text PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    purchase_id       uuid NOT NULL,
    amount            bigint NOT NULL,
    currency          text NOT NULL,
    status            text NOT NULL,
    failure_message   text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_payments_purchase_idx ON billing_payments (purchase_id);

-- Every money movement, append-only: money in is positive, refunds negative.
CREATE TABLE ledger_entries (
    id                bigserial PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('subscription_payment', 'one_time_charge', 'refund')),
    amount_cents      bigint NOT NULL,
    currency          text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    provider_ref      text NOT NULL,
    invoice_id        text,
    payment_intent_id text,
    charge_id         text,
    purchase_id       uuid,
    description       text NOT NULL,
    occurred_at       timestamptz NOT NULL,
    event_id          text REFERENCES stripe_events (id),
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_entries_ref_key UNIQUE (kind, provider_ref)
);
CREATE INDEX ledger_entries_tenant_idx ON ledger_entries (tenant_id, occurred_at DESC);

CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only';
END $$;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

-- Suspensions (the kill switch): one open row per tenant and category; lifting keeps history.
CREATE TABLE suspensions (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    category    text NOT NULL CHECK (category IN ('abuse', 'payment', 'terms', 'manual')),
    reason      text NOT NULL,
    actor       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    lifted_at   timestamptz,
    lifted_by   text,
    lift_reason text
);
CREATE UNIQUE INDEX suspensions_open_key ON suspensions (tenant_id, category) WHERE lifted_at IS NULL;
CREATE INDEX suspensions_tenant_idx ON suspensions (tenant_id, created_at DESC);

-- ---------------------------------------------------------------------------------------------
-- Sandbox Stripe (used when no STRIPE_SECRET_KEY is set). Ids look like Stripe's with "sbx".

CREATE TABLE sandbox_stripe_clock (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    offset_secs bigint NOT NULL DEFAULT 0
);
INSERT INTO sandbox_stripe_clock DEFAULT VALUES;

CREATE TABLE sandbox_stripe_idempotency (
    key        text PRIMARY KEY,
    response   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sandbox_stripe_customers (
    id       text PRIMARY KEY,
    email    text NOT NULL,
    name     text NOT NULL,
    metadata jsonb NOT NULL,
    -- the saved card: none, one that pays, or one that is accepted but whose charges fail
    card     text NOT NULL DEFAULT 'none' CHECK (card IN ('none', 'succeeds', 'fails_charges')),
    card_last4 text,
    created  timestamptz NOT NULL
);

CREATE TABLE sandbox_stripe_checkout_sessions (
    id                text PRIMARY KEY,
    request           jsonb NOT NULL,
    status            text NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
    subscription_id   text,
    payment_intent_id text,
    created           timestamptz NOT NULL
);

CREATE TABLE sandbox_stripe_subscriptions (
    id                   text PRIMARY KEY,
    customer_id          text NOT NULL,
    item_id              text NOT NULL,
    price_id             text NOT NULL,
    amount               bigint NOT NULL,
    currency             text NOT NULL,
    status               text NOT NULL,
    trial_start          timestamptz,
    trial_end            timestamptz,
    current_period_start timestamptz NOT NULL,
    current_period_end   timestamptz NOT NULL,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    canceled_at          timestamptz,
    ended_at             timestamptz,
    trial_will_end_sent  boolean NOT NULL DEFAULT false,
    metadata             jsonb NOT NULL,
    created              timestamptz NOT NULL
);

CREATE TABLE sandbox_stripe_invoices (
    id                 text PRIMARY KEY,
    seq                bigserial UNIQUE,
    customer_id        text NOT NULL,
    subscription_id    text,
    status             text NOT NULL,
    billing_reason     text NOT NULL,
    amount_due         bigint NOT NULL,
    amount_paid        bigint NOT NULL DEFAULT 0,
    currency           text NOT NULL,
    attempt_count      int NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz,
    period_start       timestamptz NOT NULL,
    period_end         timestamptz NOT NULL,
    created            timestamptz NOT NULL,
    paid_at            timestamptz
);

CREATE TABLE sandbox_stripe_payments (
    id              text PRIMARY KEY,
    charge_id       text NOT NULL UNIQUE,
    customer_id     text,
    invoice_id      text,
    amount          bigint NOT NULL,
    amount_refunded bigint NOT NULL DEFAULT 0,
    currency        text NOT NULL,
    status          text NOT NULL,
    metadata        jsonb NOT NULL,
    created         timestamptz NOT NULL
);

-- Outbox of events the sandbox emits; delivered to /webhooks/stripe over HTTP in order.
CREATE TABLE sandbox_stripe_events (
    id           text PRIMARY KEY,
    seq          bigserial UNIQUE,
    type         text NOT NULL,
    payload      jsonb NOT NULL,
    attempts     int NOT NULL DEFAULT 0,
    delivered_at timestamptz,
    last_error   text
);
CREATE INDEX sandbox_stripe_events_pending_idx ON sandbox_stripe_events (seq) WHERE delivered_at IS NULL;

CREATE FUNCTION invoice_status_rank(status text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE status WHEN 'draft' THEN 0 WHEN 'open' THEN 1 WHEN 'uncollectible' THEN 2
                       WHEN 'void' THEN 3 WHEN 'paid' THEN 4 ELSE 0 END
$$;

CREATE TABLE sandbox_stripe_portal_sessions (
    id          text PRIMARY KEY,
    customer_id text NOT NULL,
    return_url  text NOT NULL,
    created     timestamptz NOT NULL
);
