//! Durable storage of the daemon: SQLite in WAL mode, one file, versioned migrations.
//!
//! Everything that must survive a crash lives here: inbound messages (stored before
//! WhatsApp gets its 200, deduplicated by wamid), delivery statuses (deduplicated by
//! wamid + status), conversation states, the message history, the outbox of sends and
//! webhook calls, timers, and an audit log of every engine step.

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
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
    "#,
    // 2: flow tokens handed out with forms, bound to a contact, a form and a card.
    r#"
    CREATE TABLE flow_tokens (
        token       TEXT PRIMARY KEY,
        contact     TEXT NOT NULL,
        form        TEXT NOT NULL,
        card_id     INTEGER NOT NULL,
        issued_ms   INTEGER NOT NULL,
        used_ms     INTEGER
    );
    CREATE INDEX flow_tokens_contact ON flow_tokens(contact);
    "#,
    // 3: the inbound table is the history of inbound messages (no second copy in
    // `messages`); pending rows are found by a scan at start, so the write path keeps
    // one index fewer.
    r#"
    DROP INDEX inbound_pending;
    CREATE INDEX inbound_contact ON inbound(contact, seq);
    DELETE FROM messages WHERE direction = 'in';
    "#,
];

/// A storage error, with what we were doing.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(format!("storage: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Copies the WAL back into the database file every `every`, from a connection of its
/// own: a passive checkpoint never blocks the writer. Runs until the process ends.
pub fn checkpoint_forever(path: &Path, every: std::time::Duration) -> Result<()> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError(format!("cannot open database `{}`: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    std::thread::Builder::new()
        .name("wafl-checkpoint".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
        .map_err(|e| StoreError(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(())
}

/// An inbound row to store: the dedupe key, the contact, and the decoded JSON.
#[derive(Clone, Debug)]
pub struct NewInbound {
    pub wamid: String,
    pub contact: String,
    pub payload: String,
}

/// A stored inbound message waiting for (or done with) the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundRow {
    pub seq: i64,
    pub wamid: String,
    pub contact: String,
    pub payload: String,
}

/// A status row to store.
#[derive(Clone, Debug)]
pub struct NewStatus {
    pub wamid: String,
    pub status: String,
    pub at: i64,
    pub payload: String,
}

/// What one ingest batch did: how many rows were new and how many were duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestResult {
    pub new_messages: Vec<InboundRow>,
    pub duplicate_messages: usize,
    pub new_statuses: Vec<NewStatusRef>,
    pub duplicate_statuses: usize,
}

/// A status that was new, to apply to the message history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewStatusRef {
    pub wamid: String,
    pub status: String,
}

/// One batch of webhook content, stored atomically.
#[derive(Clone, Debug, Default)]
pub struct IngestBatch {
    pub messages: Vec<NewInbound>,
    pub statuses: Vec<NewStatus>,
    pub unknown: Vec<(String, String)>,
}

/// An outbox row to create.
#[derive(Clone, Debug)]
pub struct NewOutbox {
    pub contact: String,
    /// `whatsapp` or `webhook`.
    pub kind: String,
    pub payload: String,
    /// Stable across retries and restarts: it is what receivers deduplicate on.
    pub idem_key: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub contact: String,
    pub kind: String,
    pub payload: String,
    pub idem_key: String,
    pub attempts: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TimerRow {
    pub id: String,
    pub contact: String,
    pub due_ms: i64,
    pub payload: String,
}

/// Everything one engine step changes, written in one transaction.
#[derive(Clone, Debug, Default)]
pub struct StepWrite {
    pub contact: String,
    /// The inbound row this step consumed, marked processed.
    pub inbound_seq: Option<i64>,
    pub state: String,
    pub stage: Option<String>,
    pub outbox: Vec<NewOutbox>,
    pub timers_set: Vec<TimerRow>,
    pub timers_cancelled: Vec<String>,
    /// A fired timer to delete.
    pub timer_done: Option<String>,
    pub history: Vec<(String, String)>,
    pub audit_event: String,
    pub audit_effects: String,
    pub script_hash: String,
    /// Flow tokens issued by this step's form sends.
    pub tokens_issued: Vec<FlowToken>,
    /// A flow token this step consumed (an accepted form submission).
    pub token_used: Option<String>,
    /// Rejected input to keep for inspection, as `(kind, raw)` in `unknown_events`.
    pub rejected: Vec<(String, String)>,
}

/// A flow token: what it was issued for, and when it was used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowToken {
    pub token: String,
    pub contact: String,
    pub form: String,
    pub card_id: i64,
    pub issued_ms: i64,
    pub used_ms: Option<i64>,
}

/// The SQLite store. One connection; the daemon serialises access through one task.
pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (creating if needed) the database file and runs pending migrations.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError(format!("cannot open database `{}`: {e}", path.display())))?;
        Store::setup(conn)
    }

    /// A private in-memory store (tests, the REPL).
    pub fn in_memory() -> Result<Store> {
        Store::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<Store> {
        // WAL: readers do not block the writer; `synchronous=FULL` makes each commit
        // durable before we acknowledge anything. Throughput comes from group commits.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A larger page cache and fewer, larger WAL checkpoints: the write path is
        // append-heavy, and every checkpoint costs extra fsyncs.
        conn.pragma_update(None, "cache_size", -65536)?;
        conn.pragma_update(None, "wal_autocheckpoint", 10000)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.set_prepared_statement_cache_capacity(64);
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    /// Hands WAL checkpoints to [`checkpoint_forever`] on another connection, so the
    /// writer never stalls behind a checkpoint's fsync.
    pub fn disable_autocheckpoint(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let current = self.schema_version()?;
        let current = usize::try_from(current).unwrap_or(0);
        if current > MIGRATIONS.len() {
            return Err(StoreError(format!(
                "the database has schema version {current}, newer than this wafl knows ({}); upgrade wafl",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Stores several webhook batches in ONE transaction (group commit). Duplicates are
    /// recognised by the unique keys and skipped, atomically.
    pub fn ingest(&mut self, batches: &[IngestBatch], now_ms: i64) -> Result<Vec<IngestResult>> {
        let tx = self.conn.savepoint()?;
        let mut results = Vec::with_capacity(batches.len());
        {
            let mut ins_msg = tx.prepare_cached(
                "INSERT INTO inbound (wamid, contact, received_ms, payload) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(wamid) DO NOTHING",
            )?;
            let mut ins_status = tx.prepare_cached(
                "INSERT INTO statuses (wamid, status, at, payload) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(wamid, status) DO NOTHING",
            )?;
            let mut ins_unknown = tx.prepare_cached(
                "INSERT INTO unknown_events (received_ms, field, raw) VALUES (?1, ?2, ?3)",
            )?;
            for batch in batches {
                let mut r = IngestResult::default();
                for m in &batch.messages {
                    if ins_msg.execute(params![m.wamid, m.contact, now_ms, m.payload])? == 1 {
                        let seq = tx.last_insert_rowid();
                        r.new_messages.push(InboundRow {
                            seq,
                            wamid: m.wamid.clone(),
                            contact: m.contact.clone(),
                            payload: m.payload.clone(),
                        });
                    } else {
                        r.duplicate_messages += 1;
                    }
                }
                for s in &batch.statuses {
                    if ins_status.execute(params![s.wamid, s.status, s.at, s.payload])? == 1 {
                        r.new_statuses.push(NewStatusRef {
                            wamid: s.wamid.clone(),
                            status: s.status.clone(),
                        });
                    } else {
                        r.duplicate_statuses += 1;
                    }
                }
                for (field, raw) in &batch.unknown {
                    ins_unknown.execute(params![now_ms, field, raw])?;
                }
                results.push(r);
            }
        }
        tx.commit()?;
        Ok(results)
    }

    /// Inbound messages stored but not yet processed, oldest first (recovery on start).
    pub fn pending_inbound(&self) -> Result<Vec<InboundRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, wamid, contact, payload FROM inbound WHERE processed = 0 ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(InboundRow {
                seq: r.get(0)?,
                wamid: r.get(1)?,
                contact: r.get(2)?,
                payload: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    pub fn load_state(&self, contact: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT state FROM conversations WHERE contact = ?1",
                [contact],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Applies one engine step atomically: new state, outbox rows, timers, history,
    /// audit, and the consumed inbound row marked processed.
    pub fn apply_step(&mut self, w: &StepWrite, now_ms: i64) -> Result<Vec<i64>> {
        let tx = self.conn.savepoint()?;
        let mut outbox_ids = Vec::new();
        tx.prepare_cached(
            "INSERT INTO conversations (contact, state, stage, updated_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(contact) DO UPDATE SET state = ?2, stage = ?3, updated_ms = ?4",
        )?
        .execute(params![w.contact, w.state, w.stage, now_ms])?;
        if let Some(seq) = w.inbound_seq {
            tx.prepare_cached("UPDATE inbound SET processed = 1 WHERE seq = ?1")?
                .execute([seq])?;
        }
        for o in &w.outbox {
            let n = tx
                .prepare_cached(
                    "INSERT INTO outbox (contact, kind, payload, idem_key, next_ms, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(idem_key) DO NOTHING",
                )?
                .execute(params![o.contact, o.kind, o.payload, o.idem_key, now_ms])?;
            if n == 1 {
                outbox_ids.push(tx.last_insert_rowid());
            }
        }
        for id in &w.timers_cancelled {
            tx.prepare_cached("DELETE FROM timers WHERE id = ?1")?
                .execute([id])?;
        }
        if let Some(id) = &w.timer_done {
            tx.prepare_cached("DELETE FROM timers WHERE id = ?1")?
                .execute([id])?;
        }
        for t in &w.timers_set {
            tx.prepare_cached(
                "INSERT INTO timers (id, contact, due_ms, payload) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET due_ms = ?3, payload = ?4",
            )?
            .execute(params![t.id, t.contact, t.due_ms, t.payload])?;
        }
        for (direction, body) in &w.history {
            tx.prepare_cached(
                "INSERT INTO messages (contact, direction, body, at_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![w.contact, direction, body, now_ms])?;
        }
        for t in &w.tokens_issued {
            tx.prepare_cached(
                "INSERT INTO flow_tokens (token, contact, form, card_id, issued_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(token) DO NOTHING",
            )?
            .execute(params![t.token, t.contact, t.form, t.card_id, t.issued_ms])?;
        }
        if let Some(token) = &w.token_used {
            tx.prepare_cached(
                "UPDATE flow_tokens SET used_ms = ?2 WHERE token = ?1 AND used_ms IS NULL",
            )?
            .execute(params![token, now_ms])?;
        }
        for (field, raw) in &w.rejected {
            tx.prepare_cached(
                "INSERT INTO unknown_events (received_ms, field, raw) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![now_ms, field, raw])?;
        }
        tx.prepare_cached(
            "INSERT INTO audit (contact, at_ms, script_hash, event, effects) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(
            params![w.contact, now_ms, w.script_hash, w.audit_event, w.audit_effects],
        )?;
        tx.commit()?;
        Ok(outbox_ids)
    }

    /// The flow token with this value, if one was issued.
    pub fn flow_token(&self, token: &str) -> Result<Option<FlowToken>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT token, contact, form, card_id, issued_ms, used_ms FROM flow_tokens WHERE token = ?1",
            )?
            .query_row([token], |r| {
                Ok(FlowToken {
                    token: r.get(0)?,
                    contact: r.get(1)?,
                    form: r.get(2)?,
                    card_id: r.get(3)?,
                    issued_ms: r.get(4)?,
                    used_ms: r.get(5)?,
                })
            })
            .optional()?)
    }

    /// Keeps a rejected request for inspection (`unknown_events`).
    pub fn record_rejected(&mut self, field: &str, raw: &str, now_ms: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO unknown_events (received_ms, field, raw) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![now_ms, field, raw])?;
        Ok(())
    }

    /// Rows of `unknown_events` of one kind, oldest first (inspection and tests).
    pub fn unknown_events(&self, field: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT raw FROM unknown_events WHERE field = ?1 ORDER BY id")?;
        let rows = stmt.query_map([field], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Outbox rows due now, oldest first.
    pub fn due_outbox(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, contact, kind, payload, idem_key, attempts FROM outbox
             WHERE state = 'pending' AND next_ms <= ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_ms, limit as i64], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                contact: r.get(1)?,
                kind: r.get(2)?,
                payload: r.get(3)?,
                idem_key: r.get(4)?,
                attempts: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Claims a pending row before its request leaves, counting the attempt. Returns
    /// false when the row is no longer pending (another sender took it, or it is done),
    /// so no request ever leaves twice from one running daemon.
    pub fn outbox_inflight(&mut self, id: i64) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE outbox SET state = 'inflight', attempts = attempts + 1 WHERE id = ?1 AND state = 'pending'",
            [id],
        )?;
        Ok(n == 1)
    }

    /// After a crash, rows that were in flight may or may not have reached their
    /// receiver: make them pending again (at-least-once; receivers deduplicate on the
    /// idempotency key). Called once at start, before the sender runs.
    pub fn recover_inflight(&mut self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'pending' WHERE state = 'inflight'",
            [],
        )?)
    }

    pub fn outbox_done(&mut self, id: i64, wamid: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = 'done', wamid = ?2, last_error = NULL WHERE id = ?1",
            params![id, wamid],
        )?;
        Ok(())
    }

    pub fn outbox_retry(&mut self, id: i64, next_ms: i64, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = 'pending', next_ms = ?2, last_error = ?3 WHERE id = ?1",
            params![id, next_ms, error],
        )?;
        Ok(())
    }

    /// Replaces a row's payload and makes it due now (e.g. a template instead of a
    /// free-form message after the window closed).
    pub fn outbox_replace(&mut self, id: i64, payload: &str, note: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = 'pending', payload = ?2, last_error = ?3, next_ms = 0 WHERE id = ?1",
            params![id, payload, note],
        )?;
        Ok(())
    }

    /// The contact and payload of the outbox row a status refers to (by our row id,
    /// echoed as `biz_opaque_callback_data`, or by the wamid WhatsApp gave us).
    pub fn outbox_by_ref(
        &self,
        row_id: Option<i64>,
        wamid: &str,
    ) -> Result<Option<(String, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT contact, payload FROM outbox WHERE id = ?1 OR (wamid IS NOT NULL AND wamid = ?2) LIMIT 1",
                params![row_id.unwrap_or(-1), wamid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Gives up on a row: a permanent error, or the retry limit reached.
    pub fn outbox_dead(&mut self, id: i64, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = 'dead', last_error = ?2 WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }

    /// Number of rows not yet done (pending or in flight).
    pub fn outbox_depth(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'inflight')",
            [],
            |r| r.get(0),
        )?)
    }

    pub fn due_timers(&self, now_ms: i64) -> Result<Vec<TimerRow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, contact, due_ms, payload FROM timers WHERE due_ms <= ?1 ORDER BY due_ms, id")?;
        let rows = stmt.query_map([now_ms], |r| {
            Ok(TimerRow {
                id: r.get(0)?,
                contact: r.get(1)?,
                due_ms: r.get(2)?,
                payload: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    pub fn next_timer_ms(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT MIN(due_ms) FROM timers", [], |r| r.get(0))?)
    }

    /// Applies a delivery status to the outbound message it belongs to.
    pub fn set_message_status(&mut self, wamid: &str, status: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE messages SET status = ?2 WHERE wamid = ?1 AND direction = 'out'",
            params![wamid, status],
        )?;
        Ok(())
    }

    /// Records an outbound message in the history once WhatsApp accepted it.
    pub fn record_outbound(
        &mut self,
        contact: &str,
        wamid: Option<&str>,
        body: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO messages (contact, direction, wamid, body, status, at_ms) VALUES (?1, 'out', ?2, ?3, 'accepted', ?4)",
            params![contact, wamid, body, now_ms],
        )?;
        Ok(())
    }

    /// The stored conversations: (contact, stage, state JSON), optionally in one stage.
    pub fn conversations(
        &self,
        stage: Option<&str>,
    ) -> Result<Vec<(String, Option<String>, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT contact, stage, state FROM conversations WHERE ?1 IS NULL OR stage = ?1 ORDER BY contact",
        )?;
        let rows = stmt.query_map([stage], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// The history of one contact: (direction, wamid, body, status, at_ms).
    #[allow(clippy::type_complexity)]
    pub fn history(
        &self,
        contact: &str,
    ) -> Result<Vec<(String, Option<String>, String, Option<String>, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT direction, wamid, body, status, at_ms FROM (
                 SELECT 'in' AS direction, wamid, payload AS body, NULL AS status, received_ms AS at_ms, 0 AS side, seq AS n
                   FROM inbound WHERE contact = ?1
                 UNION ALL
                 SELECT direction, wamid, body, status, at_ms, 1 AS side, id AS n
                   FROM messages WHERE contact = ?1
             ) ORDER BY at_ms, side, n",
        )?;
        let rows = stmt.query_map([contact], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// The audit trail of one contact: (at_ms, script hash, event, effects).
    pub fn audit(&self, contact: &str) -> Result<Vec<(i64, String, String, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT at_ms, script_hash, event, effects FROM audit WHERE contact = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([contact], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Starts a group: everything until [`Store::commit_group`] is one transaction, so
    /// one fsync covers many steps. Each operation inside is its own savepoint, so one
    /// failing operation does not undo the others.
    pub fn begin_group(&mut self) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    pub fn commit_group(&mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    pub fn rollback_group(&mut self) -> Result<()> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }

    /// Counts for tests and metrics: (inbound rows, processed rows).
    pub fn inbound_counts(&self) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(processed), 0) FROM inbound",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(w: &str, c: &str) -> NewInbound {
        NewInbound {
            wamid: w.into(),
            contact: c.into(),
            payload: format!("{{\"id\":\"{w}\"}}"),
        }
    }

    #[test]
    fn migrations_run_once_and_record_the_version() {
        let dir = std::env::temp_dir().join(format!("wafl-store-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("t.db");
        let _ = std::fs::remove_file(&path);
        {
            let s = Store::open(&path).expect("open");
            assert_eq!(
                s.schema_version().expect("version"),
                MIGRATIONS.len() as i64
            );
        }
        let s = Store::open(&path).expect("reopen");
        assert_eq!(
            s.schema_version().expect("version"),
            MIGRATIONS.len() as i64
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn duplicates_are_recognised_within_and_across_batches() {
        let mut s = Store::in_memory().expect("store");
        let b1 = IngestBatch {
            messages: vec![msg("w1", "a"), msg("w2", "a"), msg("w1", "a")],
            statuses: vec![NewStatus {
                wamid: "o1".into(),
                status: "sent".into(),
                at: 1,
                payload: "{}".into(),
            }],
            unknown: vec![("flows".into(), "{}".into())],
        };
        let b2 = IngestBatch {
            messages: vec![msg("w2", "a"), msg("w3", "b")],
            statuses: vec![
                NewStatus {
                    wamid: "o1".into(),
                    status: "sent".into(),
                    at: 1,
                    payload: "{}".into(),
                },
                NewStatus {
                    wamid: "o1".into(),
                    status: "read".into(),
                    at: 2,
                    payload: "{}".into(),
                },
            ],
            unknown: vec![],
        };
        let r = s.ingest(&[b1, b2], 10).expect("ingest");
        assert_eq!(r[0].new_messages.len(), 2);
        assert_eq!(r[0].duplicate_messages, 1);
        assert_eq!(r[1].new_messages.len(), 1);
        assert_eq!(r[1].duplicate_messages, 1);
        assert_eq!(r[1].new_statuses.len(), 1);
        assert_eq!(r[1].duplicate_statuses, 1);
        assert_eq!(s.pending_inbound().expect("pending").len(), 3);
    }

    #[test]
    fn a_step_is_atomic_and_outbox_keys_are_unique() {
        let mut s = Store::in_memory().expect("store");
        let r = s
            .ingest(
                &[IngestBatch {
                    messages: vec![msg("w1", "a")],
                    ..Default::default()
                }],
                1,
            )
            .expect("ingest");
        let seq = r[0].new_messages[0].seq;
        let write = StepWrite {
            contact: "a".into(),
            inbound_seq: Some(seq),
            state: "{}".into(),
            stage: Some("triage".into()),
            outbox: vec![
                NewOutbox {
                    contact: "a".into(),
                    kind: "whatsapp".into(),
                    payload: "{}".into(),
                    idem_key: "k1".into(),
                },
                NewOutbox {
                    contact: "a".into(),
                    kind: "whatsapp".into(),
                    payload: "{}".into(),
                    idem_key: "k1".into(),
                },
            ],
            timers_set: vec![TimerRow {
                id: "t1".into(),
                contact: "a".into(),
                due_ms: 50,
                payload: "{}".into(),
            }],
            ..Default::default()
        };
        let ids = s.apply_step(&write, 2).expect("step");
        assert_eq!(ids.len(), 1, "the same idempotency key is stored once");
        assert!(s.pending_inbound().expect("pending").is_empty());
        assert_eq!(s.due_outbox(2, 10).expect("due").len(), 1);
        assert!(s.due_timers(49).expect("timers").is_empty());
        assert_eq!(s.due_timers(50).expect("timers").len(), 1);
        assert_eq!(s.conversations(Some("triage")).expect("cards").len(), 1);
        assert!(s.outbox_inflight(ids[0]).expect("inflight"));
        assert!(
            !s.outbox_inflight(ids[0]).expect("claimed once"),
            "a row is claimed once"
        );
        assert!(
            s.due_outbox(2, 10).expect("due").is_empty(),
            "in flight is not due"
        );
        // A crash now leaves the row in flight: it is due again after a restart.
        assert_eq!(s.recover_inflight().expect("recover"), 1);
        assert_eq!(s.due_outbox(2, 10).expect("due")[0].attempts, 1);
        assert!(s.outbox_inflight(ids[0]).expect("inflight"));
        s.outbox_done(ids[0], Some("wamid.X")).expect("done");
        assert_eq!(s.outbox_depth().expect("depth"), 0);
    }
}
