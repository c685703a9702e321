-- 1: the initial schema.
CREATE TABLE inbound (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    wamid       TEXT NOT NULL UNIQUE,
    contact     TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    processed   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX inbound_pending ON inbound(processed, contact, seq);
CREATE TABLE statuses (
    wamid       TEXT NOT NULL,
    status      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    PRIMARY KEY (wamid, status)
);
CREATE TABLE unknown_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    field       TEXT NOT NULL,
    raw         TEXT NOT NULL
);
CREATE TABLE conversations (
    contact     TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    stage       TEXT,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX conversations_stage ON conversations(stage);
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    contact     TEXT NOT NULL,
    direction   TEXT NOT NULL,
    wamid       TEXT,
    body        TEXT NOT NULL,
    status      TEXT,
    at_ms       INTEGER NOT NULL
);
CREATE INDEX messages_contact ON messages(contact, id);
CREATE INDEX messages_wamid ON messages(wamid);
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    contact     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    idem_key    TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_ms     INTEGER NOT NULL,
    last_error  TEXT,
    wamid       TEXT,
    created_ms  INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, id);
CREATE INDEX outbox_wamid ON outbox(wamid);
CREATE TABLE timers (
    id          TEXT PRIMARY KEY,
    contact     TEXT NOT NULL,
    due_ms      INTEGER NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX timers_due ON timers(due_ms);
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    contact     TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    script_hash TEXT NOT NULL,
    event       TEXT NOT NULL,
    effects     TEXT NOT NULL
);
CREATE INDEX audit_contact ON audit(contact, id);
