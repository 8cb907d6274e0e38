-- Every mail has a plain-text and an HTML part, both rendered from the one layout.
ALTER TABLE mail_outbox ADD COLUMN body_html text;
