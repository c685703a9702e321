//! The embedded backend: SQLite in WAL mode, one file, migrations from `migrations/*.sql`.
//!
//! One writer thread owns the connection and runs every call in group commits: it takes
//! all calls waiting in its queue, runs them inside one transaction (each in its own
//! savepoint, so one failing call does not undo the others) and commits once, so one
//! fsync covers many webhooks and engine steps. A call returns only after the commit that
//! carried it succeeded. A second connection copies the WAL back into the database file
//! on its own thread, so the writer never stalls behind a checkpoint's fsync.

use super::persisted::{self, ConversationBody, HandlerName};
use super::*;
use crate::daemon::outbox::item::OutboxKind;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

mod revisions;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[(&str, &str)] = &[
    ("initial", include_str!("migrations/0001_initial.sql")),
    (
        "flow_tokens",
        include_str!("migrations/0002_flow_tokens.sql"),
    ),
    (
        "inbound_history",
        include_str!("migrations/0003_inbound_history.sql"),
    ),
    (
        "outbox_queues",
        include_str!("migrations/0004_outbox_queues.sql"),
    ),
    ("revisions", include_str!("migrations/0005_revisions.sql")),
    (
        "inbound_unprocessed",
        include_str!("migrations/0006_inbound_unprocessed.sql"),
    ),
    ("console", include_str!("migrations/0007_console.sql")),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Most calls one group commit takes.
const MAX_GROUP: usize = 1024;

/// The rank of a status in SQL, as [`status_rank`].
const RANK_SQL: &str = "CASE {} WHEN 'accepted' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'played' THEN 3 WHEN 'failed' THEN 4 ELSE -1 END";

fn rank_sql(col: &str) -> String {
    RANK_SQL.replace("{}", col)
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend {
            op: "running an SQLite statement",
            reason: e.to_string(),
        }
    }
}

type Deliver = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&mut Conn) -> Deliver + Send>;

/// The SQLite store. Cheap to share: every call is queued to the writer thread.
pub struct SqliteStore {
    tx: mpsc::Sender<Job>,
    alive: Arc<AtomicBool>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::Relaxed);
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, runs pending migrations, and starts
    /// the writer and checkpoint threads.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let open_err = |e: rusqlite::Error| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let conn = Connection::open(path).map_err(open_err)?;
        let c = Conn::setup(conn)?;
        let alive = Arc::new(AtomicBool::new(true));
        if checkpoint_while(path, std::time::Duration::from_millis(500), alive.clone()).is_ok() {
            c.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        Ok(SqliteStore::start(c, alive))
    }

    /// A private in-memory store (tests).
    pub fn in_memory() -> Result<SqliteStore> {
        let conn = Connection::open_in_memory().map_err(|e| StoreError::Open {
            path: ":memory:".into(),
            reason: e.to_string(),
        })?;
        let c = Conn::setup(conn)?;
        Ok(SqliteStore::start(c, Arc::new(AtomicBool::new(true))))
    }

    fn start(mut conn: Conn, alive: Arc<AtomicBool>) -> SqliteStore {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("wafl-db".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    let began = conn.conn.execute_batch("BEGIN IMMEDIATE");
                    let mut delivers = Vec::with_capacity(jobs.len());
                    for job in jobs {
                        delivers.push(job(&mut conn));
                    }
                    let committed = began
                        .and_then(|_| conn.conn.execute_batch("COMMIT"))
                        .map_err(|e| e.to_string());
                    if committed.is_err() && !conn.conn.is_autocommit() {
                        // Leave no transaction open behind a failed commit.
                        let _ = conn.conn.execute_batch("ROLLBACK");
                    }
                    for d in delivers {
                        d(committed.clone());
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the storage thread: {e}");
        }
        SqliteStore { tx, alive }
    }

    /// Runs `f` on the writer thread inside the next group commit; returns once the
    /// group is committed.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            Box::new(move |committed| {
                let _ = tx.send(match committed {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::Commit(e)),
                });
            })
        });
        self.tx
            .send(job)
            .map_err(|_| StoreError::Unavailable("the storage thread has stopped".into()))?;
        rx.recv()
            .map_err(|_| StoreError::Unavailable("the storage thread has stopped".into()))?
    }
}

/// Copies the WAL back into the database file every `every`, from a connection of its
/// own, while `alive`: a passive checkpoint never blocks the writer.
fn checkpoint_while(path: &Path, every: std::time::Duration, alive: Arc<AtomicBool>) -> Result<()> {
    let conn = Connection::open(path).map_err(|e| StoreError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    std::thread::Builder::new()
        .name("wafl-checkpoint".into())
        .spawn(move || {
            while alive.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
        .map_err(|e| StoreError::Unavailable(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(())
}

/// A dead letter as read: id, contact, kind, key, attempts, error, created, payload.
type DeadRow = (
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    String,
);

/// The connection, owned by the writer thread.
struct Conn {
    conn: Connection,
}

fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<T>>) -> Result<Vec<T>> {
    Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
}

impl Conn {
    fn setup(conn: Connection) -> Result<Conn> {
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
        conn.set_prepared_statement_cache_capacity(128);
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut c = Conn { conn };
        c.migrate()?;
        Ok(c)
    }

    fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let current = self.schema_version()?;
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
            let version = i as i64 + 1;
            let failed = |e: rusqlite::Error| StoreError::Migration {
                version,
                name,
                reason: e.to_string(),
            };
            let tx = self.conn.transaction().map_err(failed)?;
            tx.execute_batch(sql).map_err(failed)?;
            tx.pragma_update(None, "user_version", version)
                .map_err(failed)?;
            tx.commit().map_err(failed)?;
        }
        Ok(())
    }

    fn ingest(&mut self, batch: &IngestBatch, now_ms: i64) -> Result<IngestResult> {
        let tx = self.conn.savepoint()?;
        let mut r = IngestResult::default();
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
            for m in &batch.messages {
                if ins_msg.execute(params![m.wamid, m.contact, now_ms, m.payload])? == 1 {
                    r.new_messages.push(InboundRow {
                        seq: tx.last_insert_rowid(),
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
        }
        tx.commit()?;
        Ok(r)
    }

    fn record_rejected(&mut self, field: &str, raw: &str, now_ms: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO unknown_events (received_ms, field, raw) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![now_ms, field, raw])?;
        Ok(())
    }

    fn apply_step(&mut self, w: &StepWrite, now_ms: i64) -> Result<StepApplied> {
        let tx = self.conn.savepoint()?;
        let mut applied = StepApplied::default();
        let waiting = w
            .conversation
            .waiting()
            .map(|h| serde_json::to_string(&h).unwrap_or_default());
        tx.prepare_cached(
            "INSERT INTO conversations (contact, state, stage, updated_ms, program_hash, waiting)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(contact) DO UPDATE SET state = ?2, stage = ?3, updated_ms = ?4,
               program_hash = ?5, waiting = ?6",
        )?
        .execute(params![
            w.contact,
            w.conversation.to_json(),
            w.stage,
            now_ms,
            w.conversation.program,
            waiting
        ])?;
        if let Some(seq) = w.inbound_seq {
            // Exactly once: a message handed over twice (the sweep and a late hand-off)
            // runs once; the second step is refused whole.
            let n = tx
                .prepare_cached(
                    "UPDATE inbound SET processed = 1 WHERE seq = ?1 AND processed = 0",
                )?
                .execute([seq])?;
            if n == 0 {
                return Err(StoreError::Conflict(format!(
                    "inbound message {seq} was already processed"
                )));
            }
        }
        for o in &w.outbox {
            if let Some(id) = Self::insert_outbox(&tx, &o.contact, &o.item, &o.idem_key, now_ms)? {
                applied.outbox_ids.push(id);
            }
        }
        for id in &w.timers_cancelled {
            tx.prepare_cached("DELETE FROM timers WHERE id = ?1")?
                .execute([id])?;
        }
        if let Some((id, due_ms)) = &w.timer_done {
            // Only the firing that ran: a timer set again meanwhile stays.
            tx.prepare_cached("DELETE FROM timers WHERE id = ?1 AND due_ms = ?2")?
                .execute(params![id, due_ms])?;
        }
        for t in &w.timers_set {
            tx.prepare_cached(
                "INSERT INTO timers (id, contact, due_ms, payload) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET due_ms = ?3, payload = ?4, claimed_until = NULL",
            )?
            .execute(params![t.id, t.contact, t.due_ms, t.timer])?;
        }
        for h in &w.history {
            tx.prepare_cached(
                "INSERT INTO messages (contact, direction, body, at_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![w.contact, h.direction, h.body, now_ms])?;
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
            "INSERT INTO audit (contact, at_ms, script_hash, event, effects, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            w.contact,
            now_ms,
            w.script_hash,
            w.audit_event,
            w.audit_effects,
            w.actor
        ])?;
        tx.commit()?;
        Ok(applied)
    }

    /// Inserts an outbox row at the tail of its contact's queue (the head if the queue
    /// is empty); `None` when the idempotency key is known.
    fn insert_outbox(
        tx: &Connection,
        contact: &str,
        item: &crate::daemon::outbox::item::OutboxItem,
        idem_key: &str,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let n = tx
            .prepare_cached(
                "INSERT INTO outbox (contact, kind, payload, idem_key, next_ms, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(idem_key) DO NOTHING",
            )?
            .execute(params![
                contact,
                item.kind().as_str(),
                persisted::encode_outbox(item),
                idem_key,
                now_ms
            ])?;
        if n == 0 {
            return Ok(None);
        }
        let id = tx.last_insert_rowid();
        tx.prepare_cached(
            "INSERT INTO outbox_heads (contact, outbox_id, due_ms, inflight)
             VALUES (?1, ?2, ?3, 0) ON CONFLICT(contact) DO NOTHING",
        )?
        .execute(params![contact, id, now_ms])?;
        Ok(Some(id))
    }

    fn enqueue(
        &mut self,
        contact: &str,
        item: &crate::daemon::outbox::item::OutboxItem,
        idem_key: &str,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let tx = self.conn.savepoint()?;
        let id = Self::insert_outbox(&tx, contact, item, idem_key, now_ms)?;
        tx.commit()?;
        Ok(id)
    }

    fn recover_inflight(&mut self) -> Result<usize> {
        let tx = self.conn.savepoint()?;
        let n = tx.execute(
            "UPDATE outbox SET state = 'pending' WHERE state = 'inflight'",
            [],
        )?;
        tx.execute("UPDATE outbox_heads SET inflight = 0", [])?;
        tx.commit()?;
        Ok(n)
    }

    /// Makes the contact's oldest open row its head (or removes the head).
    fn advance_head(tx: &Connection, contact: &str) -> Result<()> {
        let next: Option<(i64, i64, String)> = tx
            .prepare_cached(
                "SELECT id, next_ms, state FROM outbox
                 WHERE contact = ?1 AND state IN ('pending', 'inflight') ORDER BY id LIMIT 1",
            )?
            .query_row([contact], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        match next {
            Some((id, due, state)) => {
                tx.prepare_cached(
                    "INSERT INTO outbox_heads (contact, outbox_id, due_ms, inflight) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(contact) DO UPDATE SET outbox_id = ?2, due_ms = ?3, inflight = ?4",
                )?
                .execute(params![contact, id, due, i64::from(state == "inflight")])?;
            }
            None => {
                tx.prepare_cached("DELETE FROM outbox_heads WHERE contact = ?1")?
                    .execute([contact])?;
            }
        }
        Ok(())
    }

    fn claim_outbox(&mut self, now_ms: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        let tx = self.conn.savepoint()?;
        let heads: Vec<(String, i64)> = collect(
            tx.prepare_cached(
                "SELECT contact, outbox_id FROM outbox_heads
                 WHERE inflight = 0 AND due_ms <= ?1 ORDER BY due_ms LIMIT ?2",
            )?
            .query_map(params![now_ms, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?,
        )?;
        let mut rows = Vec::with_capacity(heads.len());
        for (contact, id) in heads {
            let row: Option<(String, String, String, i64, i64, String, i64)> = tx
                .prepare_cached(
                    "SELECT kind, payload, idem_key, attempts, created_ms, state, next_ms FROM outbox WHERE id = ?1",
                )?
                .query_row([id], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })
                .optional()?;
            let Some((kind, payload, idem_key, attempts, created_ms, state, next_ms)) = row else {
                Self::advance_head(&tx, &contact)?;
                continue;
            };
            if state != "pending" || next_ms > now_ms {
                // A stale head: repair it; the contact is looked at again next time.
                Self::advance_head(&tx, &contact)?;
                continue;
            }
            match persisted::decode_outbox(&kind, &payload) {
                Ok(item) => {
                    tx.prepare_cached(
                        "UPDATE outbox SET state = 'inflight', attempts = attempts + 1 WHERE id = ?1",
                    )?
                    .execute([id])?;
                    tx.prepare_cached("UPDATE outbox_heads SET inflight = 1 WHERE contact = ?1")?
                        .execute([&contact])?;
                    rows.push(OutboxRow {
                        id,
                        contact,
                        item,
                        idem_key,
                        attempts: attempts + 1,
                        created_ms,
                    });
                }
                Err(e) => {
                    // Unreadable: a dead letter with the reason, and the queue moves on.
                    tx.prepare_cached(
                        "UPDATE outbox SET state = 'dead', last_error = ?2 WHERE id = ?1",
                    )?
                    .execute(params![id, e.to_string()])?;
                    Self::advance_head(&tx, &contact)?;
                }
            }
        }
        tx.commit()?;
        Ok(rows)
    }

    fn settle_outbox(&mut self, id: i64, s: &Settlement, now_ms: i64) -> Result<()> {
        let tx = self.conn.savepoint()?;
        let contact: Option<String> = tx
            .prepare_cached("SELECT contact FROM outbox WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let Some(contact) = contact else {
            return Ok(());
        };
        match s {
            Settlement::Done { wamid, history } => {
                tx.prepare_cached(
                    "UPDATE outbox SET state = 'done', wamid = ?2, last_error = NULL WHERE id = ?1",
                )?
                .execute(params![id, wamid])?;
                if let Some(body) = history {
                    // Statuses that arrived before this answer apply now (highest wins).
                    let early: Option<String> = match wamid {
                        Some(w) => tx
                            .prepare_cached(&format!(
                                "SELECT status FROM statuses WHERE wamid = ?1 ORDER BY {} DESC LIMIT 1",
                                rank_sql("status")
                            ))?
                            .query_row([w], |r| r.get(0))
                            .optional()?,
                        None => None,
                    };
                    tx.prepare_cached(
                        "INSERT INTO messages (contact, direction, wamid, body, status, at_ms)
                         VALUES (?1, 'out', ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![
                        contact,
                        wamid,
                        body,
                        early.as_deref().unwrap_or("accepted"),
                        now_ms
                    ])?;
                }
                Self::advance_head(&tx, &contact)?;
            }
            Settlement::Retry { next_ms, error } => {
                tx.prepare_cached(
                    "UPDATE outbox SET state = 'pending', next_ms = ?2, last_error = ?3 WHERE id = ?1",
                )?
                .execute(params![id, next_ms, error])?;
                Self::advance_head(&tx, &contact)?;
            }
            Settlement::Dead { error, history } => {
                tx.prepare_cached(
                    "UPDATE outbox SET state = 'dead', last_error = ?2 WHERE id = ?1",
                )?
                .execute(params![id, error])?;
                if let Some(body) = history {
                    tx.prepare_cached(
                        "INSERT INTO messages (contact, direction, body, status, at_ms)
                         VALUES (?1, 'out-dead', ?2, 'failed', ?3)",
                    )?
                    .execute(params![contact, body, now_ms])?;
                }
                Self::advance_head(&tx, &contact)?;
            }
            Settlement::Replace { item, note } => {
                tx.prepare_cached(
                    "UPDATE outbox SET state = 'pending', kind = ?2, payload = ?3, last_error = ?4, next_ms = ?5
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    item.kind().as_str(),
                    persisted::encode_outbox(item),
                    note,
                    now_ms
                ])?;
                Self::advance_head(&tx, &contact)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn apply_status(
        &mut self,
        wamid: &str,
        status: &str,
        row_id: Option<i64>,
    ) -> Result<Option<OutboxRef>> {
        let tx = self.conn.savepoint()?;
        tx.prepare_cached(&format!(
            "UPDATE messages SET status = ?2 WHERE wamid = ?1 AND direction = 'out'
               AND {} < {}",
            rank_sql("status"),
            rank_sql("?2")
        ))?
        .execute(params![wamid, status])?;
        let found: Option<(i64, String, String, String)> = tx
            .prepare_cached(
                "SELECT id, contact, kind, payload FROM outbox
                 WHERE id = ?1 OR (wamid IS NOT NULL AND wamid = ?2) LIMIT 1",
            )?
            .query_row(params![row_id.unwrap_or(-1), wamid], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        tx.commit()?;
        Ok(match found {
            Some((id, contact, kind, payload)) => Some(OutboxRef {
                id,
                contact,
                item: persisted::decode_outbox(&kind, &payload)?,
            }),
            None => None,
        })
    }

    fn claim_due_timers(
        &mut self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<TimerRow>> {
        let tx = self.conn.savepoint()?;
        let rows = collect(
            tx.prepare_cached(
                "SELECT id, contact, due_ms, payload FROM timers
                 WHERE due_ms <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1)
                 ORDER BY due_ms, id LIMIT ?2",
            )?
            .query_map(params![now_ms, limit as i64], |r| {
                Ok(TimerRow {
                    id: r.get(0)?,
                    contact: r.get(1)?,
                    due_ms: r.get(2)?,
                    timer: r.get(3)?,
                })
            })?,
        )?;
        for t in &rows {
            tx.prepare_cached("UPDATE timers SET claimed_until = ?2 WHERE id = ?1")?
                .execute(params![t.id, now_ms + lease_ms])?;
        }
        tx.commit()?;
        Ok(rows)
    }

    fn retry_dead_letters(&mut self, which: &DeadLetterSelection, now_ms: i64) -> Result<Vec<i64>> {
        let tx = self.conn.savepoint()?;
        let rows: Vec<(i64, String)> = match which {
            DeadLetterSelection::One(id) => collect(
                tx.prepare_cached(
                    "SELECT id, contact FROM outbox WHERE id = ?1 AND state = 'dead'",
                )?
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?,
            )?,
            DeadLetterSelection::All => collect(
                tx.prepare_cached(
                    "SELECT id, contact FROM outbox WHERE state = 'dead' ORDER BY id",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?,
            )?,
        };
        for (id, contact) in &rows {
            tx.prepare_cached(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_ms = ?2, created_ms = ?2 WHERE id = ?1",
            )?
            .execute(params![id, now_ms])?;
            let head: Option<i64> = tx
                .prepare_cached("SELECT inflight FROM outbox_heads WHERE contact = ?1")?
                .query_row([contact], |r| r.get(0))
                .optional()?;
            // An in-flight head stays; the queue reaches this row when it settles.
            if head != Some(1) {
                Self::advance_head(&tx, contact)?;
            }
        }
        tx.commit()?;
        Ok(rows.into_iter().map(|(id, _)| id).collect())
    }

    fn pending_inbound(&self) -> Result<Vec<InboundRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, wamid, contact, payload FROM inbound WHERE processed = 0 ORDER BY seq",
        )?;
        collect(stmt.query_map([], |r| {
            Ok(InboundRow {
                seq: r.get(0)?,
                wamid: r.get(1)?,
                contact: r.get(2)?,
                payload: r.get(3)?,
            })
        })?)
    }

    fn unprocessed_inbound(&self, before_ms: i64, limit: usize) -> Result<Vec<InboundRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, wamid, contact, payload FROM inbound INDEXED BY inbound_unprocessed
             WHERE processed = 0 AND received_ms <= ?1 ORDER BY seq LIMIT ?2",
        )?;
        collect(stmt.query_map(
            params![before_ms, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok(InboundRow {
                    seq: r.get(0)?,
                    wamid: r.get(1)?,
                    contact: r.get(2)?,
                    payload: r.get(3)?,
                })
            },
        )?)
    }

    fn inbound_backlog(&self) -> Result<Backlog> {
        let messages: i64 = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM inbound INDEXED BY inbound_unprocessed WHERE processed = 0",
            )?
            .query_row([], |r| r.get(0))?;
        let oldest_ms: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT received_ms FROM inbound INDEXED BY inbound_unprocessed
                 WHERE processed = 0 ORDER BY seq LIMIT 1",
            )?
            .query_row([], |r| r.get(0))
            .optional()?;
        Ok(Backlog {
            messages,
            oldest_ms,
        })
    }

    fn conversations(
        &self,
        contact: Option<&str>,
        stage: Option<&str>,
    ) -> Result<Vec<StoredConversation>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT contact, stage, state, updated_ms FROM conversations
             WHERE (?1 IS NULL OR contact = ?1) AND (?2 IS NULL OR stage = ?2) ORDER BY contact",
        )?;
        let raw: Vec<(String, Option<String>, String, i64)> =
            collect(stmt.query_map(params![contact, stage], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?)?;
        let mut out = Vec::with_capacity(raw.len());
        for (contact, stage, state, updated_ms) in raw {
            out.push(StoredConversation {
                contact,
                stage,
                body: ConversationBody::from_json(&state)?,
                updated_ms,
            });
        }
        Ok(out)
    }

    fn waiting_cards(&self) -> Result<Vec<WaitingCount>> {
        let mut stmt = self.conn.prepare(
            "SELECT waiting, COUNT(*) FROM conversations WHERE waiting IS NOT NULL GROUP BY waiting ORDER BY waiting",
        )?;
        let raw: Vec<(String, i64)> = collect(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?)?;
        let mut out = Vec::new();
        for (w, n) in raw {
            let handler: HandlerName =
                serde_json::from_str(&w).map_err(|e| persisted::PersistError::Json {
                    what: "waiting handler",
                    reason: e.to_string(),
                })?;
            out.push(WaitingCount {
                handler,
                cards: u64::try_from(n).unwrap_or(0),
            });
        }
        Ok(out)
    }

    fn flow_token(&self, token: &str) -> Result<Option<FlowToken>> {
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

    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, contact, kind, idem_key, attempts, last_error, created_ms, payload
             FROM outbox WHERE state = 'dead' ORDER BY id LIMIT ?1",
        )?;
        let raw: Vec<DeadRow> = collect(stmt.query_map([limit as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?)?;
        Ok(raw
            .into_iter()
            .map(
                |(id, contact, kind, idem_key, attempts, error, created_ms, payload)| DeadLetter {
                    id,
                    contact,
                    item: persisted::decode_outbox(&kind, &payload).ok(),
                    kind: OutboxKind::parse(&kind).unwrap_or(OutboxKind::Whatsapp),
                    idem_key,
                    attempts,
                    error,
                    created_ms,
                },
            )
            .collect())
    }

    fn outbox_counts(&self) -> Result<OutboxCounts> {
        let mut c = OutboxCounts::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT state, COUNT(*) FROM outbox WHERE state IN ('pending', 'inflight') GROUP BY state
             UNION ALL SELECT 'dead', COUNT(*) FROM outbox WHERE state = 'dead'",
        )?;
        for row in
            collect(stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?)?
        {
            match row.0.as_str() {
                "pending" => c.pending = row.1,
                "inflight" => c.inflight = row.1,
                _ => c.dead = row.1,
            }
        }
        Ok(c)
    }

    fn next_timer_ms(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT MIN(due_ms) FROM timers", [], |r| r.get(0))?)
    }

    fn history(&self, contact: &str) -> Result<Vec<HistoryRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT direction, wamid, body, status, at_ms FROM (
                 SELECT 'in' AS direction, wamid, payload AS body, NULL AS status, received_ms AS at_ms, 0 AS side, seq AS n
                   FROM inbound WHERE contact = ?1
                 UNION ALL
                 SELECT direction, wamid, body, status, at_ms, 1 AS side, id AS n
                   FROM messages WHERE contact = ?1
             ) ORDER BY at_ms, side, n",
        )?;
        collect(stmt.query_map([contact], |r| {
            Ok(HistoryRow {
                direction: r.get(0)?,
                wamid: r.get(1)?,
                body: r.get(2)?,
                status: r.get(3)?,
                at_ms: r.get(4)?,
            })
        })?)
    }

    fn audit(&self, contact: &str) -> Result<Vec<AuditRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT at_ms, script_hash, event, effects, actor FROM audit WHERE contact = ?1 ORDER BY id",
        )?;
        collect(stmt.query_map([contact], |r| {
            Ok(AuditRow {
                at_ms: r.get(0)?,
                script_hash: r.get(1)?,
                event: r.get(2)?,
                effects: r.get(3)?,
                actor: r.get(4)?,
            })
        })?)
    }

    fn unknown_events(&self, field: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT raw FROM unknown_events WHERE field = ?1 ORDER BY id")?;
        collect(stmt.query_map([field], |r| r.get(0))?)
    }

    fn inbound_counts(&self) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(processed), 0) FROM inbound",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    // ---- console accounts and sessions ------------------------------------------------

    fn add_agent(&mut self, a: &AgentAccount) -> Result<bool> {
        let teams = serde_json::to_string(&a.teams).unwrap_or_else(|_| "[]".into());
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO agents (email, name, teams, password_hash, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(email) DO NOTHING",
            )?
            .execute(params![
                a.email,
                a.name,
                teams,
                a.password_hash,
                a.created_ms
            ])?;
        Ok(n == 1)
    }

    fn agents_where(&self, email: Option<&str>) -> Result<Vec<AgentAccount>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT email, name, teams, password_hash, created_ms FROM agents
             WHERE (?1 IS NULL OR email = ?1) ORDER BY email",
        )?;
        let raw: Vec<(String, String, String, String, i64)> =
            collect(stmt.query_map(params![email], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?)?;
        Ok(raw
            .into_iter()
            .map(
                |(email, name, teams, password_hash, created_ms)| AgentAccount {
                    email,
                    name,
                    teams: serde_json::from_str(&teams).unwrap_or_default(),
                    password_hash,
                    created_ms,
                },
            )
            .collect())
    }

    fn remove_agent(&mut self, email: &str) -> Result<bool> {
        let tx = self.conn.savepoint()?;
        tx.execute("DELETE FROM console_sessions WHERE user_id = ?1", [email])?;
        let n = tx.execute("DELETE FROM agents WHERE email = ?1", [email])?;
        tx.commit()?;
        Ok(n == 1)
    }

    fn create_session(&mut self, s: &ConsoleSession) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO console_sessions (id_hash, user_id, csrf, created_ms, seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![s.id_hash, s.user, s.csrf, s.created_ms, s.seen_ms])?;
        Ok(())
    }

    fn touch_session(
        &mut self,
        id_hash: &str,
        now_ms: i64,
        idle_ms: i64,
        max_ms: i64,
    ) -> Result<Option<ConsoleSession>> {
        let found = self
            .conn
            .prepare_cached(
                "SELECT id_hash, user_id, csrf, created_ms, seen_ms FROM console_sessions WHERE id_hash = ?1",
            )?
            .query_row([id_hash], |r| {
                Ok(ConsoleSession {
                    id_hash: r.get(0)?,
                    user: r.get(1)?,
                    csrf: r.get(2)?,
                    created_ms: r.get(3)?,
                    seen_ms: r.get(4)?,
                })
            })
            .optional()?;
        let Some(mut s) = found else { return Ok(None) };
        if now_ms - s.seen_ms > idle_ms || now_ms - s.created_ms > max_ms {
            self.conn
                .execute("DELETE FROM console_sessions WHERE id_hash = ?1", [id_hash])?;
            return Ok(None);
        }
        // Last use is kept to the minute: most requests write nothing.
        if now_ms - s.seen_ms >= 60_000 {
            self.conn.execute(
                "UPDATE console_sessions SET seen_ms = ?2 WHERE id_hash = ?1",
                params![id_hash, now_ms],
            )?;
            s.seen_ms = now_ms;
        }
        Ok(Some(s))
    }

    fn delete_session(&mut self, id_hash: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM console_sessions WHERE id_hash = ?1", [id_hash])?;
        Ok(())
    }

    fn expire_sessions(&mut self, now_ms: i64, idle_ms: i64, max_ms: i64) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM console_sessions WHERE seen_ms < ?1 OR created_ms < ?2",
            params![now_ms - idle_ms, now_ms - max_ms],
        )?)
    }
}

impl Store for SqliteStore {
    fn schema_version(&self) -> Result<i64> {
        self.call(|c| c.schema_version())
    }

    fn ingest(&self, batch: IngestBatch, now_ms: i64) -> Result<IngestResult> {
        self.call(move |c| c.ingest(&batch, now_ms))
    }

    fn record_rejected(&self, kind: &str, raw: &str, now_ms: i64) -> Result<()> {
        let (kind, raw) = (kind.to_string(), raw.to_string());
        self.call(move |c| c.record_rejected(&kind, &raw, now_ms))
    }

    fn apply_step(&self, step: StepWrite, now_ms: i64) -> Result<StepApplied> {
        self.call(move |c| c.apply_step(&step, now_ms))
    }

    fn recover_inflight(&self) -> Result<usize> {
        self.call(|c| c.recover_inflight())
    }

    fn enqueue(
        &self,
        contact: &str,
        item: crate::daemon::outbox::item::OutboxItem,
        idem_key: &str,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let (contact, idem_key) = (contact.to_string(), idem_key.to_string());
        self.call(move |c| c.enqueue(&contact, &item, &idem_key, now_ms))
    }

    fn claim_outbox(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        self.call(move |c| c.claim_outbox(now_ms, limit))
    }

    fn settle_outbox(&self, id: i64, settlement: Settlement, now_ms: i64) -> Result<()> {
        self.call(move |c| c.settle_outbox(id, &settlement, now_ms))
    }

    fn apply_status(
        &self,
        wamid: &str,
        status: &str,
        row_id: Option<i64>,
    ) -> Result<Option<OutboxRef>> {
        let (wamid, status) = (wamid.to_string(), status.to_string());
        self.call(move |c| c.apply_status(&wamid, &status, row_id))
    }

    fn claim_due_timers(&self, now_ms: i64, lease_ms: i64, limit: usize) -> Result<Vec<TimerRow>> {
        self.call(move |c| c.claim_due_timers(now_ms, lease_ms, limit))
    }

    fn retry_dead_letters(&self, which: DeadLetterSelection, now_ms: i64) -> Result<Vec<i64>> {
        self.call(move |c| c.retry_dead_letters(&which, now_ms))
    }

    fn pending_inbound(&self) -> Result<Vec<InboundRow>> {
        self.call(|c| c.pending_inbound())
    }

    fn unprocessed_inbound(
        &self,
        received_before_ms: i64,
        limit: usize,
    ) -> Result<Vec<InboundRow>> {
        self.call(move |c| c.unprocessed_inbound(received_before_ms, limit))
    }

    fn inbound_backlog(&self) -> Result<Backlog> {
        self.call(|c| c.inbound_backlog())
    }

    fn conversation(&self, contact: &str) -> Result<Option<StoredConversation>> {
        let contact = contact.to_string();
        self.call(move |c| Ok(c.conversations(Some(&contact), None)?.pop()))
    }

    fn conversations(&self, stage: Option<&str>) -> Result<Vec<StoredConversation>> {
        let stage = stage.map(str::to_string);
        self.call(move |c| c.conversations(None, stage.as_deref()))
    }

    fn waiting_cards(&self) -> Result<Vec<WaitingCount>> {
        self.call(|c| c.waiting_cards())
    }

    fn flow_token(&self, token: &str) -> Result<Option<FlowToken>> {
        let token = token.to_string();
        self.call(move |c| c.flow_token(&token))
    }

    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        self.call(move |c| c.dead_letters(limit))
    }

    fn outbox_counts(&self) -> Result<OutboxCounts> {
        self.call(|c| c.outbox_counts())
    }

    fn next_timer_ms(&self) -> Result<Option<i64>> {
        self.call(|c| c.next_timer_ms())
    }

    fn history(&self, contact: &str) -> Result<Vec<HistoryRow>> {
        let contact = contact.to_string();
        self.call(move |c| c.history(&contact))
    }

    fn audit(&self, contact: &str) -> Result<Vec<AuditRow>> {
        let contact = contact.to_string();
        self.call(move |c| c.audit(&contact))
    }

    fn unknown_events(&self, kind: &str) -> Result<Vec<String>> {
        let kind = kind.to_string();
        self.call(move |c| c.unknown_events(&kind))
    }

    fn inbound_counts(&self) -> Result<(i64, i64)> {
        self.call(|c| c.inbound_counts())
    }

    fn publish_revision(&self, rev: NewRevision, now_ms: i64) -> Result<Revision> {
        self.call(move |c| c.publish_revision(&rev, now_ms))
    }

    fn activate_revision(&self, id: i64, now_ms: i64) -> Result<Revision> {
        self.call(move |c| c.activate_revision(id, now_ms))
    }

    fn active_revision(&self) -> Result<Option<Revision>> {
        self.call(|c| c.active_revision())
    }

    fn revisions(&self) -> Result<Vec<Revision>> {
        self.call(|c| c.revisions())
    }

    fn add_agent(&self, agent: AgentAccount) -> Result<bool> {
        self.call(move |c| c.add_agent(&agent))
    }

    fn agent(&self, email: &str) -> Result<Option<AgentAccount>> {
        let email = email.to_string();
        self.call(move |c| Ok(c.agents_where(Some(&email))?.pop()))
    }

    fn agents(&self) -> Result<Vec<AgentAccount>> {
        self.call(|c| c.agents_where(None))
    }

    fn remove_agent(&self, email: &str) -> Result<bool> {
        let email = email.to_string();
        self.call(move |c| c.remove_agent(&email))
    }

    fn create_session(&self, session: ConsoleSession) -> Result<()> {
        self.call(move |c| c.create_session(&session))
    }

    fn touch_session(
        &self,
        id_hash: &str,
        now_ms: i64,
        idle_ms: i64,
        max_ms: i64,
    ) -> Result<Option<ConsoleSession>> {
        let id_hash = id_hash.to_string();
        self.call(move |c| c.touch_session(&id_hash, now_ms, idle_ms, max_ms))
    }

    fn delete_session(&self, id_hash: &str) -> Result<()> {
        let id_hash = id_hash.to_string();
        self.call(move |c| c.delete_session(&id_hash))
    }

    fn expire_sessions(&self, now_ms: i64, idle_ms: i64, max_ms: i64) -> Result<usize> {
        self.call(move |c| c.expire_sessions(now_ms, idle_ms, max_ms))
    }
}
