-- The durable job queue and the mail outbox.

-- One row per unit of durable work. Workers in any app process claim due rows with
-- FOR UPDATE SKIP LOCKED; a claim is a lease (locked_until) fenced by a fresh lock_token, so a
-- worker whose lease expired can no longer finish or reschedule the job another one took over.
CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    tenant_id    uuid REFERENCES tenants (id) ON DELETE CASCADE,
    -- "Enqueue once" as a constraint: a second job with the same key is never inserted, even
    -- after the first one finished.
    dedupe_key   text,
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'running', 'done', 'failed')),
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempts     int NOT NULL DEFAULT 0,
    max_attempts int NOT NULL CHECK (max_attempts > 0),
    last_error   text,
    lock_token   uuid,
    locked_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    CONSTRAINT jobs_dedupe_key UNIQUE (dedupe_key),
    CONSTRAINT jobs_running_has_lease CHECK (status <> 'running' OR (lock_token IS NOT NULL AND locked_until IS NOT NULL))
);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status = 'pending';
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE status = 'running';
CREATE INDEX jobs_tenant_idx ON jobs (tenant_id, status) WHERE tenant_id IS NOT NULL;

-- Every email the app sends, whichever transport: the sandbox keeps it here only (see
-- /dev/outbox), SMTP records the attempt and its outcome.
CREATE TABLE mail_outbox (
    id              uuid PRIMARY KEY,
    tenant_id       uuid REFERENCES tenants (id) ON DELETE SET NULL,
    to_addr         text NOT NULL,
    from_addr       text NOT NULL,
    subject         text NOT NULL,
    body_text       text NOT NULL,
    transport       text NOT NULL CHECK (transport IN ('sandbox', 'smtp')),
    status          text NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
    last_error      text,
    -- A message with a key is sent at most once: a retry finds the row already 'sent'.
    idempotency_key text CONSTRAINT mail_outbox_idempotency_key UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX mail_outbox_created_idx ON mail_outbox (created_at DESC);
