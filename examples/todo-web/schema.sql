-- The todo-web example's database (SQLite; `stk dev` runs this file once, when
-- it creates .santokit/data.db). Every todo belongs to an end user: owner is
-- the sub of the token that inserted it (config/permissions.yaml says
-- owner: owner), so each user of the page sees and changes only their own.

CREATE TABLE todos (
  id    INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  done  BOOLEAN NOT NULL DEFAULT false,
  owner TEXT
);

CREATE INDEX todos_owner ON todos (owner);

INSERT INTO todos (title, done, owner) VALUES
  ('Buy milk', false, 'alice'),
  ('Call Bob back', true, 'alice'),
  ('Water the plants', false, 'bob');
