-- Staff can suspend one domain: the relay stops signing and accepting mail for it and its
-- inboxes stop authenticating; resuming restores the status it had.
ALTER TABLE domains
    ADD COLUMN suspension_reason text CHECK (length(suspension_reason) BETWEEN 1 AND 500),
    ADD COLUMN status_before_suspension text
        CHECK (status_before_suspension IN ('configuring_dns', 'verifying', 'active'));
