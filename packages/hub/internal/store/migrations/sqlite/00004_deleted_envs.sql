-- Deleted envs (stk env delete, SPEC §9), SQLite flavour. Keep it in step
-- with ../postgres.
--
-- A deleted env stays as a tombstone: its releases, permission sets and
-- snapshots are immutable history that another env's promoted releases may
-- still refer to. Its name becomes its id (which no env name can equal:
-- names are lower case without '_'), so the name is free again.

-- +goose Up
ALTER TABLE envs ADD COLUMN deleted_at INTEGER;

-- +goose Down
ALTER TABLE envs DROP COLUMN deleted_at;
