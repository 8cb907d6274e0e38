-- Domains: purchased (registrar + managed zone) or brought by the customer, their DNS records
-- with per-record health, and the purchase saga's recorded steps. Plus the sandbox registrar
-- and sandbox DNS provider's own state.

ALTER TABLE domains
    ADD COLUMN kind text NOT NULL DEFAULT 'purchased' CHECK (kind IN ('purchased', 'byod')),
    ADD COLUMN managed boolean NOT NULL DEFAULT true,       -- the zone is in our DNS account
    ADD COLUMN purchase_id uuid,
    ADD COLUMN price_cents bigint,
    ADD COLUMN currency text,
    ADD COLUMN registrar_id text,
    ADD COLUMN zone_id text,
    ADD COLUMN nameservers text[] NOT NULL DEFAULT '{}',
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN dkim_selector text,
    ADD COLUMN dkim_public_key text,
    ADD COLUMN dkim_private_key bytea,                      -- encrypted (crypto::SecretBox)
    ADD COLUMN health text NOT NULL DEFAULT 'unknown' CHECK (health IN ('unknown', 'ok', 'broken')),
    ADD COLUMN last_checked_at timestamptz,
    ADD COLUMN failure_reason text,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT domains_status_check CHECK (status IN ('pending_payment', 'registering',
        'configuring_dns', 'verifying', 'active', 'failed', 'suspended', 'deleted'));

-- One live domain per name across all tenants; failed and deleted ones may be bought again.
CREATE UNIQUE INDEX domains_live_name_key ON domains (name) WHERE status NOT IN ('failed', 'deleted');
CREATE UNIQUE INDEX domains_purchase_key ON domains (purchase_id) WHERE purchase_id IS NOT NULL;

CREATE TABLE domain_records (
    domain_id  uuid NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('mx', 'spf', 'dkim', 'dmarc', 'tracking')),
    seq        int NOT NULL DEFAULT 0,                      -- several MX hosts
    kind       text NOT NULL CHECK (kind IN ('A', 'CNAME', 'MX', 'TXT')),
    name       text NOT NULL,
    content    text NOT NULL,
    priority   int,
    status     text NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'ok', 'missing', 'invalid')),
    found      text[] NOT NULL DEFAULT '{}',
    fix        text,
    checked_at timestamptz,
    PRIMARY KEY (domain_id, purpose, seq)
);

-- The purchase saga: one row per step, written as it starts and ends.
CREATE TABLE domain_saga_steps (
    domain_id   uuid NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    step        text NOT NULL CHECK (step IN ('register', 'create_zone', 'set_nameservers',
                    'create_records', 'publish', 'verify', 'refund')),
    status      text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    attempts    int NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    error       text,
    PRIMARY KEY (domain_id, step)
);

-- ---------------------------------------------------------------------------------------------
-- Sandbox registrar: what is registered in "our account".
CREATE TABLE sandbox_registrar_domains (
    name         text PRIMARY KEY,
    registrar_id text NOT NULL UNIQUE,
    years        int NOT NULL,
    contact      jsonb NOT NULL,
    nameservers  text[] NOT NULL DEFAULT '{}',
    charged      bigint,
    created      timestamptz NOT NULL DEFAULT now(),
    expires      timestamptz NOT NULL
);

-- Sandbox DNS: zones and records, served by the local authoritative listener.
CREATE TABLE sandbox_dns_zones (
    id          text PRIMARY KEY,
    name        text NOT NULL CONSTRAINT sandbox_dns_zones_name_key UNIQUE,
    nameservers text[] NOT NULL,
    status      text NOT NULL DEFAULT 'pending',
    created     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sandbox_dns_records (
    id       text PRIMARY KEY,
    zone_id  text NOT NULL REFERENCES sandbox_dns_zones (id) ON DELETE CASCADE,
    kind     text NOT NULL,
    name     text NOT NULL,
    content  text NOT NULL,
    priority int,
    ttl      int NOT NULL DEFAULT 300
);
CREATE INDEX sandbox_dns_records_lookup_idx ON sandbox_dns_records (name, kind);
