-- The SaaS app's database (SQLite). `stk dev` runs this file when it creates
-- the local data database .santokit/data.db (with --watch, again on every
-- save; the previous database is kept as data.db.bak). It is not used with
-- --db.
--
-- Every row carries its tenant in org; an end user's token carries theirs
-- in its org claim (stk dev token --sub alice --claim org=acme), and the
-- rules of config/permissions.yaml keep each user inside their org.

CREATE TABLE projects (
  id         INTEGER PRIMARY KEY,
  org        TEXT NOT NULL,
  name       TEXT NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  -- The target of tasks' (project_id, org) foreign key.
  UNIQUE (id, org)
);

CREATE INDEX projects_org ON projects (org);

CREATE TABLE tasks (
  id         INTEGER PRIMARY KEY,
  org        TEXT NOT NULL,
  project_id INTEGER NOT NULL,
  title      TEXT NOT NULL,
  done       BOOLEAN NOT NULL DEFAULT 0,
  assignee   TEXT,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  -- A task belongs to a project of its own org: the database refuses a
  -- task of org acme in a project of org globex (409), which a permission
  -- check on the task's row alone could not see.
  FOREIGN KEY (project_id, org) REFERENCES projects (id, org) ON DELETE CASCADE
);

CREATE INDEX tasks_org ON tasks (org);
CREATE INDEX tasks_project ON tasks (project_id, org);

INSERT INTO projects (id, org, name) VALUES
  (1, 'acme', 'Website'),
  (2, 'acme', 'Mobile app'),
  (3, 'globex', 'Launch');

INSERT INTO tasks (org, project_id, title, done, assignee) VALUES
  ('acme', 1, 'Write the landing page', 1, 'alice'),
  ('acme', 1, 'Add a pricing page', 0, 'bob'),
  ('acme', 2, 'Sign-in screen', 0, NULL),
  ('globex', 3, 'Book the venue', 0, 'gina');
