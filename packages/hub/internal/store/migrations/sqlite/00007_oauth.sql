-- Operator login through OAuth/OIDC providers (SPEC §7.1, issue 14,
-- decision 0026), SQLite flavour. Keep it in step with ../postgres.
--
-- Nothing here is a usable secret: the one-time codes, device codes and
-- user codes are stored as SHA-256 digests, the Hub's state toward the
-- provider likewise, and the Hub's PKCE verifier and OIDC nonce are sealed
-- by the key ring. Flows, codes and device codes live minutes; the service
-- sweeps expired rows.

-- +goose Up
-- An identity at a provider, linked to an operator user at its first login.
CREATE TABLE oauth_identities (
    provider      TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    -- The verified email the link was made by (for operators' records).
    email         TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
) STRICT;
CREATE INDEX oauth_identities_user ON oauth_identities (user_id);

-- A login in progress at a provider, keyed by the digest of the Hub's
-- state; single use (taken by the callback), 10 minutes. A browser flow
-- carries the CLI's loopback redirect_uri, state and code_challenge; a
-- device flow, the digest of its device code.
CREATE TABLE oauth_flows (
    state_hash     TEXT    NOT NULL PRIMARY KEY,
    provider       TEXT    NOT NULL,
    redirect_uri   TEXT,
    cli_state      TEXT,
    code_challenge TEXT,
    device_hash    TEXT,
    -- Sealed JSON {verifier, nonce} (AAD: the state digest).
    key_version    TEXT    NOT NULL,
    ciphertext     BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX oauth_flows_expires ON oauth_flows (expires_at);

-- One-time codes (stkoc_…) put on the loopback redirect: 60 seconds, taken
-- (deleted) at their first presentation, bound to the CLI's challenge.
CREATE TABLE oauth_codes (
    hash           TEXT    NOT NULL PRIMARY KEY,
    user_id        TEXT    NOT NULL REFERENCES users (id),
    provider       TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

-- Device codes (RFC 8628): stkdc_… polled by the CLI, the user code typed
-- on the Hub's page. Deleted when exchanged for tokens.
CREATE TABLE device_codes (
    hash           TEXT    NOT NULL PRIMARY KEY,
    user_code_hash TEXT    NOT NULL UNIQUE,
    provider       TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    -- A refusal's reason (hubapi.Result*), when denied.
    result         TEXT,
    user_id        TEXT    REFERENCES users (id),
    interval_ms    INTEGER NOT NULL,
    last_poll_at   INTEGER,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX device_codes_expires ON device_codes (expires_at);

-- +goose Down
DROP TABLE device_codes;
DROP TABLE oauth_codes;
DROP TABLE oauth_flows;
DROP TABLE oauth_identities;
