-- 2: published script revisions (as SQLite migration 5). A revision is immutable: the
-- checked source, its content hash, who published it, why, and what the checker said.
-- One of them is active: every daemon on this database runs it.
CREATE TABLE revisions (
    id           BIGSERIAL PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    source       TEXT NOT NULL,
    author       TEXT NOT NULL,
    message      TEXT NOT NULL,
    checked      TEXT NOT NULL,
    created_ms   BIGINT NOT NULL
);
-- At most one row: the active revision and when it became active.
CREATE TABLE active_revision (
    one          INTEGER PRIMARY KEY CHECK (one = 1),
    revision_id  BIGINT NOT NULL REFERENCES revisions(id),
    activated_ms BIGINT NOT NULL
);
