-- The PostgreSQL store's schema: the tables of the SQLite store (as of its migration 4),
-- with what several daemons on one database need besides: claim leases on inbound
-- messages, outbox rows and timers, claim tokens, and a version per conversation.
-- Times are milliseconds since the Unix epoch, as in the SQLite store.

-- Inbound messages, deduplicated by wamid; `seq` orders one contact's messages. The
-- instance that stored a message holds it until `claimed_until`; after that any
-- instance may process it.
CREATE TABLE inbound (
    seq           BIGSERIAL PRIMARY KEY,
    wamid         TEXT NOT NULL UNIQUE,
    contact       TEXT NOT NULL,
    received_ms   BIGINT NOT NULL,
    payload       TEXT NOT NULL,
    processed     BOOLEAN NOT NULL DEFAULT FALSE,
    claimed_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX inbound_contact ON inbound (contact, seq);
CREATE INDEX inbound_waiting ON inbound (seq) WHERE NOT processed;

CREATE TABLE statuses (
    wamid       TEXT NOT NULL,
    status      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    payload     TEXT NOT NULL,
    PRIMARY KEY (wamid, status)
);

CREATE TABLE unknown_events (
    id          BIGSERIAL PRIMARY KEY,
    received_ms BIGINT NOT NULL,
    field       TEXT NOT NULL,
    raw         TEXT NOT NULL
);
CREATE INDEX unknown_events_field ON unknown_events (field, id);

-- One row per contact. `version` grows by one with every step: a step commits only on
-- the version it was computed from (the fencing check). `program_hash` is the program
-- that made the state; `waiting` the handler (key and fingerprint, JSON) its card waits in.
CREATE TABLE conversations (
    contact      TEXT PRIMARY KEY,
    state        TEXT NOT NULL,
    stage        TEXT,
    updated_ms   BIGINT NOT NULL,
    program_hash TEXT,
    waiting      TEXT,
    version      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX conversations_stage ON conversations (stage);
CREATE INDEX conversations_waiting ON conversations (waiting) WHERE waiting IS NOT NULL;

-- Outbound history (inbound history is the `inbound` table).
CREATE TABLE messages (
    id          BIGSERIAL PRIMARY KEY,
    contact     TEXT NOT NULL,
    direction   TEXT NOT NULL,
    wamid       TEXT,
    body        TEXT NOT NULL,
    status      TEXT,
    at_ms       BIGINT NOT NULL
);
CREATE INDEX messages_contact ON messages (contact, id);
CREATE INDEX messages_wamid ON messages (wamid);

-- The outbox. A claim makes a row `inflight` for `claimed_by` until `lease_until` and
-- bumps `claim_token`; only a settlement with the current token counts.
CREATE TABLE outbox (
    id          BIGSERIAL PRIMARY KEY,
    contact     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    idem_key    TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_ms     BIGINT NOT NULL,
    last_error  TEXT,
    wamid       TEXT,
    created_ms  BIGINT NOT NULL,
    claimed_by  TEXT,
    claim_token BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_contact_open ON outbox (contact, id) WHERE state IN ('pending', 'inflight');
CREATE INDEX outbox_wamid ON outbox (wamid);
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';

-- The head of each contact's queue: only heads are claimed, so a contact's next request
-- never leaves before the previous one is settled, whichever instance sent it.
CREATE TABLE outbox_heads (
    contact     TEXT PRIMARY KEY,
    outbox_id   BIGINT NOT NULL,
    due_ms      BIGINT NOT NULL,
    inflight    BOOLEAN NOT NULL DEFAULT FALSE,
    claim_token BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_heads_due ON outbox_heads (due_ms);

-- A claimed timer is not claimed again until its lease ends (a step that failed, or an
-- instance that died).
CREATE TABLE timers (
    id            TEXT PRIMARY KEY,
    contact       TEXT NOT NULL,
    due_ms        BIGINT NOT NULL,
    payload       TEXT NOT NULL,
    claimed_until BIGINT
);
CREATE INDEX timers_due ON timers (due_ms);

CREATE TABLE audit (
    id          BIGSERIAL PRIMARY KEY,
    contact     TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    script_hash TEXT NOT NULL,
    event       TEXT NOT NULL,
    effects     TEXT NOT NULL
);
CREATE INDEX audit_contact ON audit (contact, id);

-- Flow tokens handed out with forms, bound to a contact, a form and a card.
CREATE TABLE flow_tokens (
    token       TEXT PRIMARY KEY,
    contact     TEXT NOT NULL,
    form        TEXT NOT NULL,
    card_id     BIGINT NOT NULL,
    issued_ms   BIGINT NOT NULL,
    used_ms     BIGINT
);
CREATE INDEX flow_tokens_contact ON flow_tokens (contact);
