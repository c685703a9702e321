-- 3: the console: agents' accounts, sign-in sessions, and who did each audited step.
-- An agent of the script's teams; `teams` is a JSON array of team names, `password_hash`
-- an Argon2id PHC string.
CREATE TABLE agents (
    email         TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    teams         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_ms    BIGINT NOT NULL
);
-- A signed-in session: only the SHA-256 of its id is kept. `user_id` is an agent's
-- e-mail or `manager`.
CREATE TABLE console_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    seen_ms     BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);
-- The person behind a step (an agent's e-mail or `manager`); NULL for the automation.
ALTER TABLE audit ADD COLUMN actor TEXT;
