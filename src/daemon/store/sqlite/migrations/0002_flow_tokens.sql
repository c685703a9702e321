-- 2: flow tokens handed out with forms, bound to a contact, a form and a card.
CREATE TABLE flow_tokens (
    token       TEXT PRIMARY KEY,
    contact     TEXT NOT NULL,
    form        TEXT NOT NULL,
    card_id     INTEGER NOT NULL,
    issued_ms   INTEGER NOT NULL,
    used_ms     INTEGER
);
CREATE INDEX flow_tokens_contact ON flow_tokens(contact);
