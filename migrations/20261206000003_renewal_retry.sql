-- A renewal that gave up can be tried again by the owner (after fixing the card): it reopens,
-- and counts its declined tries afresh from `reopened_at` (the count when it reopened), while
-- every charge still uses a new idempotency key.
ALTER TABLE domain_renewals ADD COLUMN reopened_at int NOT NULL DEFAULT 0;
