-- Forged complaints cannot suspend a tenant (issue 13, point 5). A Feedback record counts only
-- when its trace names a message the relay logged as delivered (message id + recipient),
-- and each such message counts once however often it is reported.

-- What the relay delivered, from its Delivery records: what a complaint must refer to.
CREATE TABLE relay_messages (
    message_id text NOT NULL,
    recipient  text NOT NULL,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    domain_id  uuid,
    inbox_id   uuid NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, recipient)
);
CREATE INDEX relay_messages_tenant_idx ON relay_messages (tenant_id);

-- Every complaint received, counted or not, for staff. tenant_id: the matched message's
-- tenant, else the tenant the report claims (its trace or original sender), else NULL.
CREATE TABLE complaints (
    id                 bigserial PRIMARY KEY,
    received_at        timestamptz NOT NULL DEFAULT now(),
    tenant_id          uuid REFERENCES tenants (id) ON DELETE CASCADE,
    inbox_id           uuid,
    message_id         text,
    recipient          text,
    original_mail_from text,
    reporter           text,
    counted            boolean NOT NULL,
    -- Why it did not count (NULL when it did).
    refused            text CHECK (refused IN ('unmatched', 'repeat'))
);
CREATE INDEX complaints_tenant_idx ON complaints (tenant_id, received_at DESC);
