-- 4: per-contact outbound queues, stable handler identity, claimable timers.
-- The head of each contact's queue: the sender claims heads only, so a contact's next
-- request never leaves before the previous one is settled, and a claim looks at one row
-- per contact instead of scanning the backlog.
CREATE TABLE outbox_heads (
    contact     TEXT PRIMARY KEY,
    outbox_id   INTEGER NOT NULL,
    due_ms      INTEGER NOT NULL,
    inflight    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_heads_due ON outbox_heads(inflight, due_ms);
CREATE INDEX outbox_contact_open ON outbox(contact, id) WHERE state IN ('pending', 'inflight');
INSERT INTO outbox_heads (contact, outbox_id, due_ms, inflight)
    SELECT o.contact, o.id, o.next_ms, 0 FROM outbox o
    WHERE o.state IN ('pending', 'inflight')
      AND o.id = (SELECT MIN(id) FROM outbox x
                  WHERE x.contact = o.contact AND x.state IN ('pending', 'inflight'));
CREATE INDEX outbox_dead ON outbox(state) WHERE state = 'dead';
-- The program a conversation's state was made with, and the handler (key and
-- fingerprint, JSON) its card waits in: what a reload checks.
ALTER TABLE conversations ADD COLUMN program_hash TEXT;
ALTER TABLE conversations ADD COLUMN waiting TEXT;
CREATE INDEX conversations_waiting ON conversations(waiting) WHERE waiting IS NOT NULL;
-- A claimed timer is not claimed again until its lease ends (a step that failed).
ALTER TABLE timers ADD COLUMN claimed_until INTEGER;
