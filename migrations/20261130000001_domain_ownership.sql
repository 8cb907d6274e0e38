-- A name registered through us stays its buyer's until the registration ends, even after the
-- buyer removed the domain or its saga failed after registering: "Connect" and "Buy" ask who
-- registered a name (db::domains::registered_to). This index answers that without a scan.
CREATE INDEX domains_registered_name_idx ON domains (name, expires_at)
    WHERE kind = 'purchased' AND expires_at IS NOT NULL;
