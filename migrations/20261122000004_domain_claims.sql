-- Anyone can type a name into "Connect": a claim on a domain someone owns must not lock the
-- real owner out. An unverified own-domain claim ('byod' still 'verifying') no longer holds the
-- name; it takes the name only when it becomes active, which needs the DKIM record of that very
-- claim (a key made for it alone) published in the domain's DNS, i.e. control of the domain.
DROP INDEX domains_live_name_key;
CREATE UNIQUE INDEX domains_live_name_key ON domains (name)
    WHERE status NOT IN ('failed', 'deleted') AND NOT (kind = 'byod' AND status = 'verifying');
