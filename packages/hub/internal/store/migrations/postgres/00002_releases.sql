-- Releases, permission sets, API keys and audit events (SPEC §7.2, §8.1, §9),
-- PostgreSQL flavour. Keep it in step with ../sqlite.
--
-- ids that break created_at ties in "newest first" (or are the order
-- themselves, for audit events) use COLLATE "C": byte order, as in SQLite.

-- +goose Up
-- Immutable staged permissions versions (no update or delete).
CREATE TABLE permission_sets (
    id         TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    env_id     TEXT   NOT NULL REFERENCES envs (id),
    hash       TEXT   NOT NULL,
    -- The YAML as applied, byte for byte.
    source     BYTEA  NOT NULL,
    -- JSON array of warnings.
    warnings   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT   NOT NULL
);
-- Serves "newest permission set of an env".
CREATE INDEX permission_sets_latest ON permission_sets (env_id, created_at DESC, id DESC);

-- Immutable releases (no update or delete). The snapshots and the permission
-- set may belong to another env: a promotion reuses dev's rows.
CREATE TABLE releases (
    id             TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    env_id         TEXT   NOT NULL REFERENCES envs (id),
    ref            TEXT   NOT NULL,
    hash           TEXT   NOT NULL,
    permissions_id TEXT   NOT NULL REFERENCES permission_sets (id),
    -- JSON object: connection name → snapshot id.
    snapshots      TEXT   NOT NULL,
    -- The release this one was promoted from, if any.
    promoted_from  TEXT   REFERENCES releases (id),
    created_at     BIGINT NOT NULL,
    created_by     TEXT   NOT NULL
);
-- Serves "releases of an env, newest first" and "newest with a ref".
CREATE INDEX releases_env ON releases (env_id, created_at DESC, id DESC);
CREATE INDEX releases_ref ON releases (env_id, ref, created_at DESC, id DESC);

-- What Bridges serve; NULL until the env's first release. Only the Store
-- sets it, always to a release of the same env.
ALTER TABLE envs ADD COLUMN current_release_id TEXT REFERENCES releases (id);

CREATE TABLE api_keys (
    id           TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    env_id       TEXT   NOT NULL REFERENCES envs (id),
    name         TEXT   COLLATE "C" NOT NULL,
    -- JSON array of role names.
    roles        TEXT   NOT NULL,
    -- Hex SHA-256 of the secret; the secret itself is never stored.
    secret_hash  TEXT   NOT NULL,
    status       TEXT   NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
-- Serves "keys of an env, newest first".
CREATE INDEX api_keys_env ON api_keys (env_id, created_at DESC, id DESC);

-- Append-only audit log. ids are sortable (evt_ + ULID): newest = greatest.
CREATE TABLE audit_events (
    id         TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    org_id     TEXT   NOT NULL REFERENCES orgs (id),
    -- NULL for org-level events (users, orgs, tokens).
    project_id TEXT   REFERENCES projects (id),
    at         BIGINT NOT NULL,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    outcome    TEXT   NOT NULL,
    request_id TEXT   NOT NULL
);
CREATE INDEX audit_events_project ON audit_events (project_id, id DESC) WHERE project_id IS NOT NULL;
CREATE INDEX audit_events_org ON audit_events (org_id, id DESC) WHERE project_id IS NULL;

-- +goose Down
DROP TABLE audit_events;
DROP TABLE api_keys;
ALTER TABLE envs DROP COLUMN current_release_id;
DROP TABLE releases;
DROP TABLE permission_sets;
