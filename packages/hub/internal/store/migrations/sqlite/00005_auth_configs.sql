-- End-user auth configs (config/auth.yaml, SPEC §7.3, §9), SQLite flavour.
-- Keep it in step with ../postgres.
--
-- Each `stk auth apply` stores an immutable version; the newest of an env is
-- the staged one. A release refers to the version it froze, or to none (the
-- env trusts no issuer). A promoted release refers to a version of its own
-- env (issuers are per env), never to the source env's.

-- +goose Up
CREATE TABLE auth_configs (
    id         TEXT    NOT NULL PRIMARY KEY,
    env_id     TEXT    NOT NULL REFERENCES envs (id),
    hash       TEXT    NOT NULL,
    -- The YAML as applied, byte for byte.
    source     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL
) STRICT;
-- Serves "newest auth config of an env".
CREATE INDEX auth_configs_latest ON auth_configs (env_id, created_at DESC, id DESC);

ALTER TABLE releases ADD COLUMN auth_id TEXT REFERENCES auth_configs (id);

-- +goose Down
ALTER TABLE releases DROP COLUMN auth_id;
DROP TABLE auth_configs;
