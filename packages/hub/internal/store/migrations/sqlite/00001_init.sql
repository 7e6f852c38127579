-- Hub schema, SQLite flavour. Keep it in step with ../postgres.
--
-- Times are INTEGER microseconds since the Unix epoch (UTC): the one
-- representation that round-trips with microsecond precision and sorts
-- correctly on both engines. Tables are STRICT so a wrongly typed value is
-- an error here as it would be in PostgreSQL.

-- +goose Up
CREATE TABLE orgs (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE projects (
    id         TEXT    NOT NULL PRIMARY KEY,
    org_id     TEXT    NOT NULL REFERENCES orgs (id),
    -- Hub paths carry no org, so project names are unique Hub-wide (SPEC §2).
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX projects_org_id ON projects (org_id);

CREATE TABLE envs (
    id         TEXT    NOT NULL PRIMARY KEY,
    project_id TEXT    NOT NULL REFERENCES projects (id),
    name       TEXT    NOT NULL,
    -- ETag of the env's bundle; bumped by the changes SPEC §8.1 lists.
    revision   INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, name)
) STRICT;

CREATE TABLE connections (
    id           TEXT    NOT NULL PRIMARY KEY,
    env_id       TEXT    NOT NULL REFERENCES envs (id),
    name         TEXT    NOT NULL,
    engine       TEXT    NOT NULL,
    ciphertext   BLOB    NOT NULL,
    key_version  TEXT    NOT NULL,
    redacted_url TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (env_id, name)
) STRICT;

CREATE TABLE snapshots (
    id         TEXT    NOT NULL PRIMARY KEY,
    env_id     TEXT    NOT NULL REFERENCES envs (id),
    connection TEXT    NOT NULL,
    engine     TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    content    BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
-- Serves "newest snapshot of a connection" and "newest per connection".
CREATE INDEX snapshots_latest ON snapshots (env_id, connection, created_at DESC, id DESC);

-- +goose Down
DROP TABLE snapshots;
DROP TABLE connections;
DROP TABLE envs;
DROP TABLE projects;
DROP TABLE orgs;
