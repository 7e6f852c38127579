-- The tables of your local development database (SQLite). `stk dev` loads
-- this file into .santokit/data.db when it creates it; with --watch it
-- rebuilds that database on every save (the previous one is kept as
-- .santokit/data.db.bak), and a file that fails leaves it as it was. It is
-- not used with --db, where stk dev serves your own database instead.
--
-- Replace the sample tables below with yours. Every table gets an API:
-- POST /call with {"path": "db/main/<table>/select"} (or insert, update,
-- delete), as config/permissions.yaml allows.

CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  email      TEXT NOT NULL UNIQUE,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE todos (
  id         INTEGER PRIMARY KEY,
  title      TEXT NOT NULL,
  done       BOOLEAN NOT NULL DEFAULT 0,
  owner_id   INTEGER REFERENCES users (id),
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX todos_owner_id ON todos (owner_id);

INSERT INTO users (id, name, email) VALUES
  (1, 'Ada Lovelace', 'ada@example.com'),
  (2, 'Alan Turing', 'alan@example.com');

INSERT INTO todos (title, done, owner_id) VALUES
  ('Try stk dev', 1, 1),
  ('Edit config/permissions.yaml', 0, 1),
  ('Call the Bridge with curl', 0, 2);
