-- 5: published script revisions. A revision is immutable: the checked source, its content
-- hash, who published it, why, and what the checker said. One of them is active: the
-- daemons on this database run it.
CREATE TABLE revisions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    hash         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    source       TEXT NOT NULL,
    author       TEXT NOT NULL,
    message      TEXT NOT NULL,
    checked      TEXT NOT NULL,
    created_ms   INTEGER NOT NULL
);
-- At most one row: the active revision and when it became active.
CREATE TABLE active_revision (
    one          INTEGER PRIMARY KEY CHECK (one = 1),
    revision_id  INTEGER NOT NULL REFERENCES revisions(id),
    activated_ms INTEGER NOT NULL
);
