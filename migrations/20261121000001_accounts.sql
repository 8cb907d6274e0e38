-- Tenants own everything; users belong to tenants through memberships.
CREATE TABLE tenants (
    id            uuid PRIMARY KEY,
    name          text NOT NULL CHECK (char_length(name) BETWEEN 2 AND 100),
    website       text,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    plan_id       text,                      -- NULL while on the trial
    trial_ends_at timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    password_hash text NOT NULL,
    is_staff      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_lower CHECK (email = lower(email))
);

CREATE TABLE memberships (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id, created_at);

-- Failed logins and signups, for throttling per IP and per email across all app processes.
CREATE TABLE auth_failures (
    id    bigserial PRIMARY KEY,
    kind  text NOT NULL CHECK (kind IN ('login', 'signup')),
    ip    text NOT NULL,
    email text,
    at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_failures_ip_idx ON auth_failures (kind, ip, at);
CREATE INDEX auth_failures_email_idx ON auth_failures (kind, email, at);

-- The tenant-owned resources the dashboard counts. The domains and inboxes issues extend them.
CREATE TABLE domains (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       text NOT NULL,
    status     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX domains_tenant_idx ON domains (tenant_id);

CREATE TABLE inboxes (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    domain_id  uuid NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    local_part text NOT NULL,
    status     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inboxes_tenant_idx ON inboxes (tenant_id);
