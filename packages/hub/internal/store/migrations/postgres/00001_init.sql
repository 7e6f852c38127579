-- Hub schema, PostgreSQL flavour. Keep it in step with ../sqlite.
--
-- Times are BIGINT microseconds since the Unix epoch (UTC): the one
-- representation that round-trips with microsecond precision and sorts
-- correctly on both engines. Names use COLLATE "C" so that ORDER BY name is
-- byte order, as in SQLite, whatever the database's locale.

-- +goose Up
CREATE TABLE orgs (
    id         TEXT   NOT NULL PRIMARY KEY,
    name       TEXT   COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE projects (
    id         TEXT   NOT NULL PRIMARY KEY,
    org_id     TEXT   NOT NULL REFERENCES orgs (id),
    -- Hub paths carry no org, so project names are unique Hub-wide (SPEC §2).
    name       TEXT   COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX projects_org_id ON projects (org_id);

CREATE TABLE envs (
    id         TEXT   NOT NULL PRIMARY KEY,
    project_id TEXT   NOT NULL REFERENCES projects (id),
    name       TEXT   COLLATE "C" NOT NULL,
    -- ETag of the env's bundle; bumped by the changes SPEC §8.1 lists.
    revision   BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE connections (
    id           TEXT   NOT NULL PRIMARY KEY,
    env_id       TEXT   NOT NULL REFERENCES envs (id),
    name         TEXT   COLLATE "C" NOT NULL,
    engine       TEXT   NOT NULL,
    ciphertext   BYTEA  NOT NULL,
    key_version  TEXT   NOT NULL,
    redacted_url TEXT   NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (env_id, name)
);

CREATE TABLE snapshots (
    -- id breaks created_at ties in "newest", so it sorts in byte order too.
    id         TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    env_id     TEXT   NOT NULL REFERENCES envs (id),
    connection TEXT   COLLATE "C" NOT NULL,
    engine     TEXT   NOT NULL,
    hash       TEXT   NOT NULL,
    content    BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);
-- Serves "newest snapshot of a connection" and "newest per connection".
CREATE INDEX snapshots_latest ON snapshots (env_id, connection, created_at DESC, id DESC);

-- +goose Down
DROP TABLE snapshots;
DROP TABLE connections;
DROP TABLE envs;
DROP TABLE projects;
DROP TABLE orgs;
