-- The inbox list walks a workspace's domains in name order and each domain's inboxes by
-- inboxes_tenant_domain_idx, so a deep page reads only the rows before it (db::inboxes::list).
CREATE INDEX domains_tenant_name_idx ON domains (tenant_id, name);
