-- 6: the messages not processed yet, found without a scan: the periodic sweep runs the
-- ones whose hand-off after their commit never happened, and the backlog gauge (and the
-- backpressure bound) counts them. The index holds only unprocessed rows, so it stays as
-- small as the processing lag.
CREATE INDEX inbound_unprocessed ON inbound(seq) WHERE processed = 0;
