-- 3: the inbound table is the history of inbound messages (no second copy in
-- `messages`); pending rows are found by a scan at start, so the write path keeps
-- one index fewer.
DROP INDEX inbound_pending;
CREATE INDEX inbound_contact ON inbound(contact, seq);
DELETE FROM messages WHERE direction = 'in';
