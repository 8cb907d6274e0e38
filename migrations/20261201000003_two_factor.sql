-- Two-factor sign-in (TOTP, RFC 6238). The secret is sealed with the app's master key (like
-- inbox credentials); `last_step` is the newest 30-second step a code was accepted for, so a
-- code seen over someone's shoulder cannot be used twice. Unconfirmed until the first code.
CREATE TABLE user_totp (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_enc   bytea NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Ten single-use recovery codes per user, stored as keyed hashes only.
CREATE TABLE recovery_codes (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- An owner may require two-factor sign-in of everyone in the workspace.
ALTER TABLE tenants ADD COLUMN require_2fa boolean NOT NULL DEFAULT false;
