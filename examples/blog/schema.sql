-- The blog's database (SQLite). `stk dev` runs this file when it creates the
-- local data database .santokit/data.db (with --watch, again on every save;
-- the previous database is kept as data.db.bak). It is not used with --db.
--
-- author holds the end user's id: the sub of their token (stk dev token
-- --sub alice). Indexes on the columns that rules filter on keep those
-- filters cheap (stk permissions apply warns about a missing one).

CREATE TABLE posts (
  id         INTEGER PRIMARY KEY,
  author     TEXT NOT NULL,
  title      TEXT NOT NULL,
  body       TEXT NOT NULL DEFAULT '',
  published  BOOLEAN NOT NULL DEFAULT 0,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX posts_author ON posts (author);
CREATE INDEX posts_published ON posts (published);

CREATE TABLE comments (
  id         INTEGER PRIMARY KEY,
  post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  author     TEXT NOT NULL,
  body       TEXT NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX comments_post_id ON comments (post_id);
CREATE INDEX comments_author ON comments (author);

INSERT INTO posts (id, author, title, body, published) VALUES
  (1, 'alice', 'Hello, world', 'The first post of this blog.', 1),
  (2, 'alice', 'Half-written', 'A draft: only alice and moderators see it.', 0),
  (3, 'bob', 'A second voice', 'Bob writes too.', 1);

INSERT INTO comments (post_id, author, body) VALUES
  (1, 'bob', 'Welcome!'),
  (1, 'carol', 'Nice start.'),
  (3, 'alice', 'Hi Bob.');
