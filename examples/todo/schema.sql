-- The todo project's database (SQLite). `stk dev` runs this file once, when
-- it creates the local data database .santokit/data.db; delete that file to
-- start over. It is not used with --db (bring your own database).

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
  ('Read the permissions file', 0, 1),
  ('Call the Bridge with curl', 0, 2),
  ('Ship it', 0, 2);

-- notes are owned by end users: config/permissions.yaml says owner: author,
-- so an end user (a JWT) sees, changes and creates only notes whose author
-- is their token's sub. Try it with `stk dev token --sub alice` and bob.
CREATE TABLE notes (
  id         INTEGER PRIMARY KEY,
  author     TEXT NOT NULL,
  body       TEXT NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX notes_author ON notes (author);

INSERT INTO notes (author, body) VALUES
  ('alice', 'Buy milk'),
  ('alice', 'Call Bob back'),
  ('bob', 'Water the plants');
