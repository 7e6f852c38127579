-- Custom SQL logic sets (logics/**/*.sql, SPEC §6, §9), PostgreSQL flavour.
-- Keep it in step with ../sqlite.
--
-- Each `stk logic apply` stores an immutable version of the env's whole
-- logic directory; the newest of an env is the staged one. A release refers
-- to the set it froze (NULL: a release made before logic existed, or an env
-- that never applied any — it serves no logic). A promoted release refers
-- to the source release's set, like its permissions and snapshots.

-- +goose Up
CREATE TABLE logic_sets (
    id         TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    env_id     TEXT   NOT NULL REFERENCES envs (id),
    hash       TEXT   NOT NULL,
    -- The files as applied: JSON {"posts/mine.sql": "…"}.
    files      TEXT   NOT NULL,
    -- The compiled logics (JSON []logic.Logic, with described types).
    logics     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT   NOT NULL
);
-- Serves "newest logic set of an env".
CREATE INDEX logic_sets_latest ON logic_sets (env_id, created_at DESC, id DESC);

ALTER TABLE releases ADD COLUMN logic_id TEXT REFERENCES logic_sets (id);

-- +goose Down
ALTER TABLE releases DROP COLUMN logic_id;
DROP TABLE logic_sets;
