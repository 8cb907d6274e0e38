-- The account life cycle: verified addresses, single-use mailed links, and every signed-in
-- browser as a row the user can see and end.

-- An address is verified once its owner opened a link mailed to it. Accounts from before
-- verification existed (created by the demo seed or staff tooling) count as verified.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

-- Links mailed to a user: verify the address, reset the password. Only a SHA-256 of the
-- random token is stored, so a copy of this table opens nothing. Single use (`used_at`),
-- short-lived (`expires_at`), and bound to the address it was sent to: a link for an address
-- the account no longer has verifies nothing.
CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email      text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at DESC);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);

-- Every signed-in browser. The cookie's session names its row (`sid`); the door admits a
-- session only while the row exists, so deleting it (sign out everywhere, password reset,
-- removal from a workspace) ends that browser's session at its next request.
CREATE TABLE user_sessions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent   text NOT NULL DEFAULT '',
    ip           text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id, created_at);

-- Password-reset requests are throttled like logins.
ALTER TABLE auth_failures DROP CONSTRAINT auth_failures_kind_check;
ALTER TABLE auth_failures ADD CONSTRAINT auth_failures_kind_check
    CHECK (kind IN ('login', 'signup', 'reset'));
