-- Operator auth (SPEC §7.1) and signing keys, PostgreSQL flavour. Keep it in
-- step with ../sqlite.

-- +goose Up
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    -- Stored lower-cased: emails compare case-insensitively. Listed by
    -- email: byte order, as in SQLite (00001's rule for names).
    email         TEXT    COLLATE "C" NOT NULL UNIQUE,
    -- argon2id PHC string; never returned by any API.
    password_hash TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at    BIGINT  NOT NULL
);

CREATE TABLE org_members (
    org_id     TEXT    NOT NULL REFERENCES orgs (id),
    user_id    TEXT    NOT NULL REFERENCES users (id),
    role       TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members (user_id);

CREATE TABLE project_members (
    project_id TEXT    NOT NULL REFERENCES projects (id),
    user_id    TEXT    NOT NULL REFERENCES users (id),
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'deployer', 'viewer')),
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members (user_id);

-- A login session; its refresh tokens rotate, the session stays.
CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id),
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    revoked_at BIGINT 
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every refresh token ever issued, by SHA-256 of its secret. used_at is set
-- when it is exchanged; presenting it again revokes its session.
CREATE TABLE refresh_tokens (
    hash       TEXT    NOT NULL PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id),
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT 
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- CI tokens (stkpat_…): stored as SHA-256 of the secret.
CREATE TABLE ci_tokens (
    id          TEXT    COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    user_id     TEXT    NOT NULL REFERENCES users (id),
    project_id  TEXT    REFERENCES projects (id),
    role        TEXT,
    secret_hash TEXT    NOT NULL UNIQUE,
    status      TEXT    NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT ,
    revoked_at  BIGINT 
);
CREATE INDEX ci_tokens_user ON ci_tokens (user_id, created_at DESC, id DESC);

-- Ed25519 keys that sign access tokens. The private key is sealed by the
-- key ring like every secret (SPEC §10).
CREATE TABLE signing_keys (
    id          TEXT    COLLATE "C" NOT NULL PRIMARY KEY,
    public_key  BYTEA   NOT NULL,
    ciphertext  BYTEA   NOT NULL,
    key_version TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    -- Set when a newer key takes over signing.
    retired_at  BIGINT 
);
-- Serves "every sealed secret per key version" (stk-hub keys status|rotate).
CREATE INDEX signing_keys_version ON signing_keys (key_version);
CREATE INDEX connections_key_version ON connections (key_version);

-- +goose Down
DROP INDEX connections_key_version;
DROP TABLE signing_keys;
DROP TABLE ci_tokens;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE project_members;
DROP TABLE org_members;
DROP TABLE users;
