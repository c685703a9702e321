//! [`PgStore`]: the [`Store`] contract on PostgreSQL, correct with several daemons on one
//! database.
//!
//! Every unit of work is one transaction. What several instances share is guarded in
//! the database that holds the data, never by locks kept elsewhere:
//! - **inbound messages** are processed once: the step that consumes one marks it
//!   processed only if nobody did, and only if no earlier message of the same contact is
//!   still waiting (one contact's events in order); otherwise it is refused with
//!   [`StoreError::Conflict`] and changes nothing. The instance that stored a message
//!   holds it under a lease; when that instance dies, [`Store::claim_inbound`] hands it
//!   to another one after the lease ends.
//! - **conversations** carry a version. A step commits only if the version this instance
//!   last read or wrote is still there (the fencing check), so a stalled or killed
//!   instance's late commit changes nothing.
//! - **outbox heads and timers** are claimed with `FOR UPDATE SKIP LOCKED` under leases
//!   that expire, so a dead instance's work goes to the others; a settlement counts only
//!   from the claim that holds the row (a claim token), and a contact's next row waits
//!   until its head is settled, whichever instance sent it.

use std::collections::HashMap;
use std::sync::Mutex;

use ::postgres::error::SqlState;
use ::postgres::{GenericClient, Transaction};

use super::conn::{self, ConnError, DatabaseUrl, Pool, PoolOptions};
use super::revisions;
use crate::daemon::outbox::item::{OutboxItem, OutboxKind};
use crate::daemon::store::persisted::{self, ConversationBody, HandlerName};
use crate::daemon::store::{
    AgentAccount, AuditRow, Backlog, ConsoleSession, DeadLetter, DeadLetterSelection, FlowToken,
    HistoryRow, InboundRow, IngestBatch, IngestResult, NewStatusRef, OutboxCounts, OutboxRef,
    OutboxRow, Result, Settlement, StepApplied, StepWrite, Store, StoreError, StoredConversation,
    TimerRow, WaitingCount,
};
use crate::daemon::store::{NewRevision, Revision};

/// The rank of a status in SQL, as [`status_rank`].
const RANK_SQL: &str = "CASE {} WHEN 'accepted' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'played' THEN 3 WHEN 'failed' THEN 4 ELSE -1 END";

fn rank_sql(col: &str) -> String {
    RANK_SQL.replace("{}", col)
}

/// How long claims last and who this instance is.
#[derive(Clone, Debug)]
pub struct PgOptions {
    pub pool: PoolOptions,
    /// A name for this instance, stable across its restarts (e.g. host and port): after a
    /// restart, [`Store::recover_inflight`] takes back what its previous run had in flight.
    pub instance: String,
    /// How long a claimed outbox row stays with the instance that claimed it; after that
    /// another instance sends it again (same idempotency key). Longer than a send.
    pub outbox_lease_ms: i64,
    /// How long a stored inbound message waits for the instance that stored it before
    /// another instance may process it.
    pub inbound_lease_ms: i64,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool: PoolOptions::default(),
            instance: "wafl".into(),
            outbox_lease_ms: 120_000,
            inbound_lease_ms: 30_000,
        }
    }
}

/// The PostgreSQL store. Cheap to share; calls run on the calling thread with a pooled
/// connection.
pub struct PgStore {
    /// Always `Some` until dropped.
    pool: Option<Pool>,
    url: DatabaseUrl,
    opts: PgOptions,
    /// The conversation versions this instance last read or wrote: what a step expects.
    versions: Mutex<HashMap<String, i64>>,
    /// The claim token of each outbox row this instance holds in flight.
    claims: Mutex<HashMap<i64, i64>>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // The synchronous client blocks while it closes a connection, which must not
        // happen on an async runtime's thread (the daemon drops its store on one).
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::Builder::new()
                .name("wafl-pg-close".into())
                .spawn(move || drop(pool));
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgStore({}, {})", self.url, self.opts.instance)
    }
}

/// An error inside a transaction: from the server (maybe worth a retry) or final.
pub(super) enum E {
    Pg(::postgres::Error),
    Store(StoreError),
}

impl From<::postgres::Error> for E {
    fn from(e: ::postgres::Error) -> Self {
        E::Pg(e)
    }
}

impl From<StoreError> for E {
    fn from(e: StoreError) -> Self {
        E::Store(e)
    }
}

impl From<persisted::PersistError> for E {
    fn from(e: persisted::PersistError) -> Self {
        E::Store(e.into())
    }
}

pub(super) type R<T> = std::result::Result<T, E>;

fn conflict(what: String) -> E {
    E::Store(StoreError::Conflict(what))
}

/// Turns a server error into the store's: a lost connection is `Unavailable` (the
/// daemon answers 503 and waits for the database), anything else names the operation.
fn store_error(op: &'static str, e: ::postgres::Error) -> StoreError {
    let lost = e.is_closed()
        || e.code().is_none()
        || matches!(
            e.code(),
            Some(c) if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::CONNECTION_FAILURE
        );
    if lost {
        StoreError::Unavailable(format!("the database connection failed while {op}: {e}"))
    } else {
        StoreError::Backend {
            op,
            reason: e.to_string(),
        }
    }
}

impl PgStore {
    /// Connects, applies missing migrations under the migration lock, and returns the
    /// store.
    pub fn open(url: &DatabaseUrl, opts: PgOptions) -> Result<PgStore> {
        let pool = conn::open(url, &opts.pool).map_err(|e| match e {
            ConnError::TooNew { found, known, .. } => StoreError::SchemaTooNew {
                found: i64::from(found),
                known: i64::from(known),
            },
            other => StoreError::Open {
                path: url.to_string(),
                reason: other.to_string(),
            },
        })?;
        Ok(PgStore {
            pool: Some(pool),
            url: url.clone(),
            opts,
            versions: Mutex::new(HashMap::new()),
            claims: Mutex::new(HashMap::new()),
        })
    }

    /// The database this store uses, password hidden.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    fn conn(&self) -> Result<conn::Conn> {
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?;
        pool.get()
            .map_err(|e| StoreError::Unavailable(format!("no connection to {}: {e}", self.url)))
    }

    /// Runs `f` in a transaction, again (up to three times) when the server aborts it
    /// for a deadlock or a serialization failure, or when the pooled connection turns
    /// out to be broken (the server restarted): then on a fresh connection. Every unit of
    /// work is safe to run again: inserts are deduplicated, and a step or claim that did
    /// commit before the connection broke is refused as a conflict or found claimed.
    fn tx<T>(
        &self,
        op: &'static str,
        mut f: impl FnMut(&mut Transaction<'_>) -> R<T>,
    ) -> Result<T> {
        let mut conn = self.conn()?;
        let mut tries = 0;
        loop {
            tries += 1;
            let attempt = (|| -> R<T> {
                let mut tx = conn.transaction()?;
                let v = f(&mut tx)?;
                tx.commit()?;
                Ok(v)
            })();
            match attempt {
                Ok(v) => return Ok(v),
                Err(E::Pg(e))
                    if tries < 3
                        && matches!(e.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
                            || *c == SqlState::T_R_SERIALIZATION_FAILURE) =>
                {
                    continue;
                }
                Err(E::Pg(e)) if tries < 3 && conn.is_closed() => {
                    tracing::warn!(
                        "the database connection broke while {op}; trying a new one: {e}"
                    );
                    conn = self.conn()?;
                }
                Err(E::Pg(e)) => return Err(store_error(op, e)),
                Err(E::Store(e)) => return Err(e),
            }
        }
    }

    /// Runs one read on a pooled connection.
    fn read<T>(&self, op: &'static str, f: impl FnOnce(&mut conn::Conn) -> R<T>) -> Result<T> {
        let mut conn = self.conn()?;
        match f(&mut conn) {
            Ok(v) => Ok(v),
            Err(E::Pg(e)) => Err(store_error(op, e)),
            Err(E::Store(e)) => Err(e),
        }
    }

    fn known_version(&self, contact: &str) -> Option<i64> {
        self.versions
            .lock()
            .ok()
            .and_then(|m| m.get(contact).copied())
    }

    fn remember_version(&self, contact: &str, version: i64) {
        if let Ok(mut m) = self.versions.lock() {
            // One number per contact; a very long-running instance starts over rather
            // than grow without bound (a forgotten contact is read again before use).
            if m.len() > 200_000 {
                m.clear();
            }
            m.insert(contact.to_owned(), version);
        }
    }

    fn forget_version(&self, contact: &str) {
        if let Ok(mut m) = self.versions.lock() {
            m.remove(contact);
        }
    }
}

/// Holds the contact's queue until the transaction ends: every change of which row is a
/// queue's head (a row added to an empty queue, a head settled) takes it, so that two
/// instances never both see an empty queue and put different rows at its head.
fn lock_queue(tx: &mut impl GenericClient, contact: &str) -> R<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('wafl queue ' || $1))",
        &[&contact],
    )?;
    Ok(())
}

/// [`lock_queue`] without waiting: `false` when another transaction holds the queue.
fn try_lock_queue(tx: &mut impl GenericClient, contact: &str) -> R<bool> {
    Ok(tx
        .query_one(
            "SELECT pg_try_advisory_xact_lock(hashtext('wafl queue ' || $1))",
            &[&contact],
        )?
        .get(0))
}

/// Inserts an outbox row at the tail of its contact's queue (the head if the queue is
/// empty); `None` when the idempotency key is known.
fn insert_outbox(
    tx: &mut impl GenericClient,
    contact: &str,
    item: &OutboxItem,
    idem_key: &str,
    now_ms: i64,
) -> R<Option<i64>> {
    lock_queue(tx, contact)?;
    let row = tx.query_opt(
        "INSERT INTO outbox (contact, kind, payload, idem_key, next_ms, created_ms)
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (idem_key) DO NOTHING RETURNING id",
        &[
            &contact,
            &item.kind().as_str(),
            &persisted::encode_outbox(item),
            &idem_key,
            &now_ms,
        ],
    )?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.get(0);
    tx.execute(
        "INSERT INTO outbox_heads (contact, outbox_id, due_ms) VALUES ($1, $2, $3)
         ON CONFLICT (contact) DO NOTHING",
        &[&contact, &id, &now_ms],
    )?;
    Ok(Some(id))
}

/// Makes the contact's oldest open row its head (or removes the head).
fn advance_head(tx: &mut impl GenericClient, contact: &str) -> R<()> {
    let next = tx.query_opt(
        "SELECT id, next_ms, state, claim_token, lease_until FROM outbox
         WHERE contact = $1 AND state IN ('pending', 'inflight') ORDER BY id LIMIT 1",
        &[&contact],
    )?;
    match next {
        Some(r) => {
            let (id, due, state): (i64, i64, String) = (r.get(0), r.get(1), r.get(2));
            let (token, lease): (i64, i64) = (r.get(3), r.get(4));
            tx.execute(
                "INSERT INTO outbox_heads (contact, outbox_id, due_ms, inflight, claim_token, lease_until)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (contact) DO UPDATE SET outbox_id = $2, due_ms = $3, inflight = $4,
                   claim_token = $5, lease_until = $6",
                &[&contact, &id, &due, &(state == "inflight"), &token, &lease],
            )?;
        }
        None => {
            tx.execute("DELETE FROM outbox_heads WHERE contact = $1", &[&contact])?;
        }
    }
    Ok(())
}

impl Store for PgStore {
    fn schema_version(&self) -> Result<i64> {
        self.read("reading the schema version", |c| {
            let v: i32 = c
                .query_one("SELECT COALESCE(MAX(version), 0) FROM wafl_schema", &[])?
                .get(0);
            Ok(i64::from(v))
        })
    }

    fn ingest(&self, batch: IngestBatch, now_ms: i64) -> Result<IngestResult> {
        let lease = now_ms.saturating_add(self.opts.inbound_lease_ms);
        self.tx("storing a webhook batch", |tx| {
            let mut r = IngestResult::default();
            let ins_msg = tx.prepare(
                "INSERT INTO inbound (wamid, contact, received_ms, payload, claimed_until)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (wamid) DO NOTHING RETURNING seq",
            )?;
            for m in &batch.messages {
                match tx.query_opt(
                    &ins_msg,
                    &[&m.wamid, &m.contact, &now_ms, &m.payload, &lease],
                )? {
                    Some(row) => r.new_messages.push(InboundRow {
                        seq: row.get(0),
                        wamid: m.wamid.clone(),
                        contact: m.contact.clone(),
                        payload: m.payload.clone(),
                    }),
                    None => r.duplicate_messages += 1,
                }
            }
            let ins_status = tx.prepare(
                "INSERT INTO statuses (wamid, status, at, payload) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (wamid, status) DO NOTHING",
            )?;
            for s in &batch.statuses {
                if tx.execute(&ins_status, &[&s.wamid, &s.status, &s.at, &s.payload])? == 1 {
                    r.new_statuses.push(NewStatusRef {
                        wamid: s.wamid.clone(),
                        status: s.status.clone(),
                    });
                } else {
                    r.duplicate_statuses += 1;
                }
            }
            for (field, raw) in &batch.unknown {
                tx.execute(
                    "INSERT INTO unknown_events (received_ms, field, raw) VALUES ($1, $2, $3)",
                    &[&now_ms, field, raw],
                )?;
            }
            Ok(r)
        })
    }

    fn record_rejected(&self, kind: &str, raw: &str, now_ms: i64) -> Result<()> {
        self.tx("keeping a rejected request", |tx| {
            tx.execute(
                "INSERT INTO unknown_events (received_ms, field, raw) VALUES ($1, $2, $3)",
                &[&now_ms, &kind, &raw],
            )?;
            Ok(())
        })
    }

    fn apply_step(&self, w: StepWrite, now_ms: i64) -> Result<StepApplied> {
        let expected = self.known_version(&w.contact);
        let waiting = w
            .conversation
            .waiting()
            .map(|h| serde_json::to_string(&h).unwrap_or_default());
        let result = self.tx("storing an engine step", |tx| {
            let mut applied = StepApplied::default();
            if let Some(seq) = w.inbound_seq {
                // Exactly once: only the first step that consumes the message counts.
                let n = tx.execute(
                    "UPDATE inbound SET processed = TRUE WHERE seq = $1 AND NOT processed",
                    &[&seq],
                )?;
                if n == 0 {
                    return Err(conflict(format!("inbound message {seq} was already processed")));
                }
                // One contact's messages in order, across instances.
                let earlier = tx.query_opt(
                    "SELECT seq FROM inbound WHERE contact = $1 AND seq < $2 AND NOT processed LIMIT 1",
                    &[&w.contact, &seq],
                )?;
                if let Some(e) = earlier {
                    let e: i64 = e.get(0);
                    return Err(conflict(format!(
                        "inbound message {seq} waits for the contact's earlier message {e}"
                    )));
                }
            }
            // The fencing check: the version this instance based its step on.
            let current: Option<i64> = tx
                .query_opt("SELECT version FROM conversations WHERE contact = $1 FOR UPDATE", &[&w.contact])?
                .map(|r| r.get(0));
            if let Some(exp) = expected
                && current.unwrap_or(0) != exp
            {
                return Err(conflict(format!(
                    "the conversation changed elsewhere (version {} instead of {exp})",
                    current.unwrap_or(0)
                )));
            }
            let version = current.unwrap_or(0) + 1;
            tx.execute(
                "INSERT INTO conversations (contact, state, stage, updated_ms, program_hash, waiting, version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (contact) DO UPDATE SET state = $2, stage = $3, updated_ms = $4,
                   program_hash = $5, waiting = $6, version = $7",
                &[
                    &w.contact,
                    &w.conversation.to_json(),
                    &w.stage,
                    &now_ms,
                    &w.conversation.program,
                    &waiting,
                    &version,
                ],
            )?;
            for o in &w.outbox {
                if let Some(id) = insert_outbox(tx, &o.contact, &o.item, &o.idem_key, now_ms)? {
                    applied.outbox_ids.push(id);
                }
            }
            for id in &w.timers_cancelled {
                tx.execute("DELETE FROM timers WHERE id = $1", &[id])?;
            }
            if let Some((id, due_ms)) = &w.timer_done {
                // Only the firing that ran: a timer set again meanwhile stays.
                tx.execute("DELETE FROM timers WHERE id = $1 AND due_ms = $2", &[id, due_ms])?;
            }
            for t in &w.timers_set {
                tx.execute(
                    "INSERT INTO timers (id, contact, due_ms, payload) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (id) DO UPDATE SET due_ms = $3, payload = $4, claimed_until = NULL",
                    &[&t.id, &t.contact, &t.due_ms, &t.timer],
                )?;
            }
            for h in &w.history {
                tx.execute(
                    "INSERT INTO messages (contact, direction, body, at_ms) VALUES ($1, $2, $3, $4)",
                    &[&w.contact, &h.direction, &h.body, &now_ms],
                )?;
            }
            for t in &w.tokens_issued {
                tx.execute(
                    "INSERT INTO flow_tokens (token, contact, form, card_id, issued_ms) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (token) DO NOTHING",
                    &[&t.token, &t.contact, &t.form, &t.card_id, &t.issued_ms],
                )?;
            }
            if let Some(token) = &w.token_used {
                tx.execute(
                    "UPDATE flow_tokens SET used_ms = $2 WHERE token = $1 AND used_ms IS NULL",
                    &[token, &now_ms],
                )?;
            }
            for (field, raw) in &w.rejected {
                tx.execute(
                    "INSERT INTO unknown_events (received_ms, field, raw) VALUES ($1, $2, $3)",
                    &[&now_ms, field, raw],
                )?;
            }
            tx.execute(
                "INSERT INTO audit (contact, at_ms, script_hash, event, effects, actor) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&w.contact, &now_ms, &w.script_hash, &w.audit_event, &w.audit_effects, &w.actor],
            )?;
            Ok((applied, version))
        });
        match result {
            Ok((applied, version)) => {
                self.remember_version(&w.contact, version);
                Ok(applied)
            }
            Err(e) => {
                if matches!(e, StoreError::Conflict(_)) {
                    // Read again before the next step; let any instance take the message.
                    self.forget_version(&w.contact);
                    if let Some(seq) = w.inbound_seq {
                        let _ = self.tx("releasing an inbound message", |tx| {
                            tx.execute(
                                "UPDATE inbound SET claimed_until = 0 WHERE seq = $1 AND NOT processed",
                                &[&seq],
                            )?;
                            Ok(())
                        });
                    }
                }
                Err(e)
            }
        }
    }

    fn recover_inflight(&self) -> Result<usize> {
        // Only what this instance's previous run held: other instances' claims are theirs
        // until their leases end.
        let n = self.tx("taking back rows in flight", |tx| {
            let n = tx.execute(
                "UPDATE outbox SET state = 'pending', lease_until = 0
                 WHERE state = 'inflight' AND claimed_by = $1",
                &[&self.opts.instance],
            )?;
            tx.execute(
                "UPDATE outbox_heads h SET inflight = FALSE, lease_until = 0
                 FROM outbox o WHERE o.id = h.outbox_id AND h.inflight AND o.state = 'pending'",
                &[],
            )?;
            Ok(n)
        })?;
        if let Ok(mut c) = self.claims.lock() {
            c.clear();
        }
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn enqueue(
        &self,
        contact: &str,
        item: OutboxItem,
        idem_key: &str,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        self.tx("queueing an outbox item", |tx| {
            insert_outbox(tx, contact, &item, idem_key, now_ms)
        })
    }

    fn claim_outbox(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        let lease = now_ms.saturating_add(self.opts.outbox_lease_ms);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.tx("claiming outbox rows", |tx| {
            // Heads that are due and free, or whose claim outlived its lease (the
            // instance that held it stalled or died). Other instances skip what we lock.
            let heads = tx.query(
                "SELECT contact, outbox_id FROM outbox_heads
                 WHERE due_ms <= $1 AND (NOT inflight OR lease_until <= $1)
                 ORDER BY due_ms LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[&now_ms, &limit],
            )?;
            let mut rows = Vec::with_capacity(heads.len());
            for h in heads {
                let (contact, id): (String, i64) = (h.get(0), h.get(1));
                let row = tx.query_opt(
                    "SELECT kind, payload, idem_key, attempts, created_ms, state, next_ms, lease_until
                     FROM outbox WHERE id = $1 FOR UPDATE",
                    &[&id],
                )?;
                let Some(r) = row else {
                    if try_lock_queue(tx, &contact)? {
                        advance_head(tx, &contact)?;
                    }
                    continue;
                };
                let (kind, payload, idem_key): (String, String, String) = (r.get(0), r.get(1), r.get(2));
                let (attempts, created_ms): (i32, i64) = (r.get(3), r.get(4));
                let (state, next_ms, lease_until): (String, i64, i64) = (r.get(5), r.get(6), r.get(7));
                let claimable = (state == "pending" && next_ms <= now_ms) || (state == "inflight" && lease_until <= now_ms);
                if !claimable {
                    // A stale head: repair it (unless the queue is changing right now);
                    // the contact is looked at again next time.
                    if try_lock_queue(tx, &contact)? {
                        advance_head(tx, &contact)?;
                    }
                    continue;
                }
                match persisted::decode_outbox(&kind, &payload) {
                    Ok(item) => {
                        let token: i64 = tx
                            .query_one(
                                "UPDATE outbox SET state = 'inflight', attempts = attempts + 1,
                                   claim_token = claim_token + 1, claimed_by = $2, lease_until = $3
                                 WHERE id = $1 RETURNING claim_token",
                                &[&id, &self.opts.instance, &lease],
                            )?
                            .get(0);
                        tx.execute(
                            "UPDATE outbox_heads SET inflight = TRUE, claim_token = $2, lease_until = $3
                             WHERE contact = $1",
                            &[&contact, &token, &lease],
                        )?;
                        rows.push((
                            OutboxRow {
                                id,
                                contact,
                                item,
                                idem_key,
                                attempts: i64::from(attempts) + 1,
                                created_ms,
                            },
                            token,
                        ));
                    }
                    Err(e) => {
                        // Unreadable: a dead letter with the reason, and the queue moves on.
                        if !try_lock_queue(tx, &contact)? {
                            continue;
                        }
                        tx.execute(
                            "UPDATE outbox SET state = 'dead', last_error = $2 WHERE id = $1",
                            &[&id, &e.to_string()],
                        )?;
                        advance_head(tx, &contact)?;
                    }
                }
            }
            Ok(rows)
        })?;
        if let Ok(mut c) = self.claims.lock() {
            for (row, token) in &rows {
                c.insert(row.id, *token);
            }
        }
        Ok(rows.into_iter().map(|(r, _)| r).collect())
    }

    fn settle_outbox(&self, id: i64, s: Settlement, now_ms: i64) -> Result<()> {
        let token = self.claims.lock().ok().and_then(|mut c| c.remove(&id));
        self.tx("settling an outbox row", |tx| {
            let Some(contact) = tx
                .query_opt("SELECT contact FROM outbox WHERE id = $1", &[&id])?
                .map(|r| r.get::<_, String>(0))
            else {
                return Ok(());
            };
            lock_queue(tx, &contact)?;
            let row = tx.query_opt(
                "SELECT contact, state, claim_token FROM outbox WHERE id = $1 FOR UPDATE",
                &[&id],
            )?;
            let Some(row) = row else { return Ok(()) };
            let (contact, state, current): (String, String, i64) = (row.get(0), row.get(1), row.get(2));
            if let Some(t) = token
                && (t != current || state != "inflight")
            {
                // Our claim ran out and another instance took the row: its outcome
                // counts, not this late one.
                tracing::warn!(outbox = id, "a late settlement of an outbox row claimed again elsewhere is ignored");
                return Ok(());
            }
            match &s {
                Settlement::Done { wamid, history } => {
                    tx.execute(
                        "UPDATE outbox SET state = 'done', wamid = $2, last_error = NULL WHERE id = $1",
                        &[&id, wamid],
                    )?;
                    if let Some(body) = history {
                        // Statuses that arrived before this answer apply now (highest wins).
                        let early: Option<String> = match wamid {
                            Some(w) => tx
                                .query_opt(
                                    &format!(
                                        "SELECT status FROM statuses WHERE wamid = $1 ORDER BY {} DESC LIMIT 1",
                                        rank_sql("status")
                                    ),
                                    &[w],
                                )?
                                .map(|r| r.get(0)),
                            None => None,
                        };
                        tx.execute(
                            "INSERT INTO messages (contact, direction, wamid, body, status, at_ms)
                             VALUES ($1, 'out', $2, $3, $4, $5)",
                            &[&contact, wamid, body, &early.as_deref().unwrap_or("accepted"), &now_ms],
                        )?;
                    }
                }
                Settlement::Retry { next_ms, error } => {
                    tx.execute(
                        "UPDATE outbox SET state = 'pending', next_ms = $2, last_error = $3, lease_until = 0
                         WHERE id = $1",
                        &[&id, next_ms, error],
                    )?;
                }
                Settlement::Dead { error, history } => {
                    tx.execute(
                        "UPDATE outbox SET state = 'dead', last_error = $2 WHERE id = $1",
                        &[&id, error],
                    )?;
                    if let Some(body) = history {
                        tx.execute(
                            "INSERT INTO messages (contact, direction, body, status, at_ms)
                             VALUES ($1, 'out-dead', $2, 'failed', $3)",
                            &[&contact, body, &now_ms],
                        )?;
                    }
                }
                Settlement::Replace { item, note } => {
                    tx.execute(
                        "UPDATE outbox SET state = 'pending', kind = $2, payload = $3, last_error = $4,
                           next_ms = $5, lease_until = 0
                         WHERE id = $1",
                        &[&id, &item.kind().as_str(), &persisted::encode_outbox(item), note, &now_ms],
                    )?;
                }
            }
            advance_head(tx, &contact)?;
            Ok(())
        })
    }

    fn apply_status(
        &self,
        wamid: &str,
        status: &str,
        row_id: Option<i64>,
    ) -> Result<Option<OutboxRef>> {
        self.tx("applying a delivery status", |tx| {
            tx.execute(
                &format!(
                    "UPDATE messages SET status = $2 WHERE wamid = $1 AND direction = 'out' AND {} < {}",
                    rank_sql("status"),
                    rank_sql("$2")
                ),
                &[&wamid, &status],
            )?;
            let found = tx.query_opt(
                "SELECT id, contact, kind, payload FROM outbox
                 WHERE id = $1 OR (wamid IS NOT NULL AND wamid = $2) LIMIT 1",
                &[&row_id.unwrap_or(-1), &wamid],
            )?;
            Ok(match found {
                Some(r) => {
                    let (kind, payload): (String, String) = (r.get(2), r.get(3));
                    Some(OutboxRef { id: r.get(0), contact: r.get(1), item: persisted::decode_outbox(&kind, &payload)? })
                }
                None => None,
            })
        })
    }

    fn claim_due_timers(&self, now_ms: i64, lease_ms: i64, limit: usize) -> Result<Vec<TimerRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.tx("claiming due timers", |tx| {
            let rows = tx.query(
                "WITH due AS (
                     SELECT id FROM timers
                     WHERE due_ms <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
                     ORDER BY due_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED)
                 UPDATE timers t SET claimed_until = $3 FROM due WHERE t.id = due.id
                 RETURNING t.id, t.contact, t.due_ms, t.payload",
                &[&now_ms, &limit, &now_ms.saturating_add(lease_ms)],
            )?;
            let mut out: Vec<TimerRow> = rows
                .iter()
                .map(|r| TimerRow {
                    id: r.get(0),
                    contact: r.get(1),
                    due_ms: r.get(2),
                    timer: r.get(3),
                })
                .collect();
            out.sort_by(|a, b| (a.due_ms, &a.id).cmp(&(b.due_ms, &b.id)));
            Ok(out)
        })
    }

    fn retry_dead_letters(&self, which: DeadLetterSelection, now_ms: i64) -> Result<Vec<i64>> {
        self.tx("resending dead letters", |tx| {
            let rows = match &which {
                DeadLetterSelection::One(id) => {
                    tx.query("SELECT id, contact FROM outbox WHERE id = $1 AND state = 'dead' FOR UPDATE", &[id])?
                }
                DeadLetterSelection::All => {
                    tx.query("SELECT id, contact FROM outbox WHERE state = 'dead' ORDER BY id FOR UPDATE", &[])?
                }
            };
            let mut ids = Vec::with_capacity(rows.len());
            for r in rows {
                let (id, contact): (i64, String) = (r.get(0), r.get(1));
                lock_queue(tx, &contact)?;
                tx.execute(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_ms = $2, created_ms = $2, lease_until = 0
                     WHERE id = $1",
                    &[&id, &now_ms],
                )?;
                let inflight: Option<bool> = tx
                    .query_opt("SELECT inflight FROM outbox_heads WHERE contact = $1 FOR UPDATE", &[&contact])?
                    .map(|r| r.get(0));
                // An in-flight head stays; the queue reaches this row when it settles.
                if inflight != Some(true) {
                    advance_head(tx, &contact)?;
                }
                ids.push(id);
            }
            Ok(ids)
        })
    }

    fn shared(&self) -> bool {
        true
    }

    fn claim_inbound(&self, now_ms: i64, limit: usize) -> Result<Vec<InboundRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let lease = now_ms.saturating_add(self.opts.inbound_lease_ms);
        self.tx("claiming waiting inbound messages", |tx| {
            // Messages whose instance let go of them or died, for contacts none of whose
            // messages another instance is working on.
            let rows = tx.query(
                "WITH free AS (
                     SELECT seq FROM inbound i
                     WHERE NOT processed AND claimed_until <= $1
                       AND NOT EXISTS (SELECT 1 FROM inbound j
                                       WHERE j.contact = i.contact AND NOT j.processed
                                         AND j.claimed_until > $1)
                     ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
                 UPDATE inbound SET claimed_until = $3 FROM free WHERE inbound.seq = free.seq
                 RETURNING inbound.seq, inbound.wamid, inbound.contact, inbound.payload",
                &[&now_ms, &limit, &lease],
            )?;
            let mut out: Vec<InboundRow> = rows
                .iter()
                .map(|r| InboundRow {
                    seq: r.get(0),
                    wamid: r.get(1),
                    contact: r.get(2),
                    payload: r.get(3),
                })
                .collect();
            out.sort_by_key(|r| r.seq);
            Ok(out)
        })
    }

    fn pending_inbound(&self) -> Result<Vec<InboundRow>> {
        self.read("listing waiting inbound messages", |c| {
            Ok(c.query(
                "SELECT seq, wamid, contact, payload FROM inbound WHERE NOT processed ORDER BY seq",
                &[],
            )?
            .iter()
            .map(|r| InboundRow {
                seq: r.get(0),
                wamid: r.get(1),
                contact: r.get(2),
                payload: r.get(3),
            })
            .collect())
        })
    }

    fn unprocessed_inbound(
        &self,
        received_before_ms: i64,
        limit: usize,
    ) -> Result<Vec<InboundRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read("listing unprocessed inbound messages", |c| {
            Ok(c.query(
                "SELECT seq, wamid, contact, payload FROM inbound
                 WHERE NOT processed AND received_ms <= $1 ORDER BY seq LIMIT $2",
                &[&received_before_ms, &limit],
            )?
            .iter()
            .map(|r| InboundRow {
                seq: r.get(0),
                wamid: r.get(1),
                contact: r.get(2),
                payload: r.get(3),
            })
            .collect())
        })
    }

    fn inbound_backlog(&self) -> Result<Backlog> {
        self.read("counting unprocessed inbound messages", |c| {
            let row = c.query_one(
                "SELECT COUNT(*), MIN(received_ms) FROM inbound WHERE NOT processed",
                &[],
            )?;
            Ok(Backlog {
                messages: row.get(0),
                oldest_ms: row.get(1),
            })
        })
    }

    fn conversation(&self, contact: &str) -> Result<Option<StoredConversation>> {
        let found = self.read("reading a conversation", |c| {
            let row = c.query_opt(
                "SELECT contact, stage, state, updated_ms, version FROM conversations WHERE contact = $1",
                &[&contact],
            )?;
            Ok(match row {
                Some(r) => {
                    let state: String = r.get(2);
                    let version: i64 = r.get(4);
                    Some((
                        StoredConversation {
                            contact: r.get(0),
                            stage: r.get(1),
                            body: ConversationBody::from_json(&state)?,
                            updated_ms: r.get(3),
                        },
                        version,
                    ))
                }
                None => None,
            })
        })?;
        // What the next step of this contact expects to find.
        self.remember_version(contact, found.as_ref().map_or(0, |(_, v)| *v));
        Ok(found.map(|(c, _)| c))
    }

    fn conversations(&self, stage: Option<&str>) -> Result<Vec<StoredConversation>> {
        self.read("listing conversations", |c| {
            let rows = c.query(
                "SELECT contact, stage, state, updated_ms FROM conversations
                 WHERE ($1::TEXT IS NULL OR stage = $1) ORDER BY contact",
                &[&stage],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let state: String = r.get(2);
                out.push(StoredConversation {
                    contact: r.get(0),
                    stage: r.get(1),
                    body: ConversationBody::from_json(&state)?,
                    updated_ms: r.get(3),
                });
            }
            Ok(out)
        })
    }

    fn waiting_cards(&self) -> Result<Vec<WaitingCount>> {
        self.read("counting waiting cards", |c| {
            let rows = c.query(
                "SELECT waiting, COUNT(*) FROM conversations WHERE waiting IS NOT NULL
                 GROUP BY waiting ORDER BY waiting",
                &[],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let (w, n): (String, i64) = (r.get(0), r.get(1));
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
        })
    }

    fn flow_token(&self, token: &str) -> Result<Option<FlowToken>> {
        self.read("reading a flow token", |c| {
            Ok(c.query_opt(
                "SELECT token, contact, form, card_id, issued_ms, used_ms FROM flow_tokens WHERE token = $1",
                &[&token],
            )?
            .map(|r| FlowToken {
                token: r.get(0),
                contact: r.get(1),
                form: r.get(2),
                card_id: r.get(3),
                issued_ms: r.get(4),
                used_ms: r.get(5),
            }))
        })
    }

    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read("listing dead letters", |c| {
            let rows = c.query(
                "SELECT id, contact, kind, idem_key, attempts, last_error, created_ms, payload
                 FROM outbox WHERE state = 'dead' ORDER BY id LIMIT $1",
                &[&limit],
            )?;
            Ok(rows
                .iter()
                .map(|r| {
                    let (kind, payload): (String, String) = (r.get(2), r.get(7));
                    let attempts: i32 = r.get(4);
                    DeadLetter {
                        id: r.get(0),
                        contact: r.get(1),
                        item: persisted::decode_outbox(&kind, &payload).ok(),
                        kind: OutboxKind::parse(&kind).unwrap_or(OutboxKind::Whatsapp),
                        idem_key: r.get(3),
                        attempts: i64::from(attempts),
                        error: r.get(5),
                        created_ms: r.get(6),
                    }
                })
                .collect())
        })
    }

    fn outbox_counts(&self) -> Result<OutboxCounts> {
        self.read("counting the outbox", |c| {
            let mut out = OutboxCounts::default();
            for r in c.query(
                "SELECT state, COUNT(*) FROM outbox WHERE state IN ('pending', 'inflight', 'dead') GROUP BY state",
                &[],
            )? {
                let (state, n): (String, i64) = (r.get(0), r.get(1));
                match state.as_str() {
                    "pending" => out.pending = n,
                    "inflight" => out.inflight = n,
                    _ => out.dead = n,
                }
            }
            Ok(out)
        })
    }

    fn next_timer_ms(&self) -> Result<Option<i64>> {
        self.read("reading the next timer", |c| {
            Ok(c.query_one("SELECT MIN(due_ms) FROM timers", &[])?.get(0))
        })
    }

    fn history(&self, contact: &str) -> Result<Vec<HistoryRow>> {
        self.read("reading a contact's history", |c| {
            Ok(c.query(
                "SELECT direction, wamid, body, status, at_ms FROM (
                     SELECT 'in' AS direction, wamid, payload AS body, NULL::TEXT AS status,
                            received_ms AS at_ms, 0 AS side, seq AS n
                       FROM inbound WHERE contact = $1
                     UNION ALL
                     SELECT direction, wamid, body, status, at_ms, 1 AS side, id AS n
                       FROM messages WHERE contact = $1
                 ) h ORDER BY at_ms, side, n",
                &[&contact],
            )?
            .iter()
            .map(|r| HistoryRow {
                direction: r.get(0),
                wamid: r.get(1),
                body: r.get(2),
                status: r.get(3),
                at_ms: r.get(4),
            })
            .collect())
        })
    }

    fn audit(&self, contact: &str) -> Result<Vec<AuditRow>> {
        self.read("reading a contact's audit", |c| {
            Ok(c.query(
                "SELECT at_ms, script_hash, event, effects, actor FROM audit WHERE contact = $1 ORDER BY id",
                &[&contact],
            )?
            .iter()
            .map(|r| AuditRow { at_ms: r.get(0), script_hash: r.get(1), event: r.get(2), effects: r.get(3), actor: r.get(4) })
            .collect())
        })
    }

    fn unknown_events(&self, kind: &str) -> Result<Vec<String>> {
        self.read("listing kept requests", |c| {
            Ok(c.query(
                "SELECT raw FROM unknown_events WHERE field = $1 ORDER BY id",
                &[&kind],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
        })
    }

    fn inbound_counts(&self) -> Result<(i64, i64)> {
        self.read("counting inbound messages", |c| {
            let r = c.query_one(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE processed) FROM inbound",
                &[],
            )?;
            Ok((r.get(0), r.get(1)))
        })
    }

    fn publish_revision(&self, rev: NewRevision, now_ms: i64) -> Result<Revision> {
        self.tx("publishing a revision", |tx| {
            revisions::publish(tx, &rev, now_ms)
        })
    }

    fn activate_revision(&self, id: i64, now_ms: i64) -> Result<Revision> {
        self.tx("activating a revision", |tx| {
            revisions::activate(tx, id, now_ms)
        })
    }

    fn active_revision(&self) -> Result<Option<Revision>> {
        self.read("reading the active revision", |c| {
            revisions::active(&mut **c)
        })
    }

    fn revisions(&self) -> Result<Vec<Revision>> {
        self.read("listing revisions", |c| revisions::all(&mut **c))
    }

    fn add_agent(&self, a: AgentAccount) -> Result<bool> {
        let teams = serde_json::to_string(&a.teams).unwrap_or_else(|_| "[]".into());
        self.tx("adding an agent", |tx| {
            let n = tx.execute(
                "INSERT INTO agents (email, name, teams, password_hash, created_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING",
                &[&a.email, &a.name, &teams, &a.password_hash, &a.created_ms],
            )?;
            Ok(n == 1)
        })
    }

    fn agent(&self, email: &str) -> Result<Option<AgentAccount>> {
        self.read("reading an agent", |c| {
            Ok(c.query_opt(
                "SELECT email, name, teams, password_hash, created_ms FROM agents WHERE email = $1",
                &[&email],
            )?
            .map(|r| agent_of(&r)))
        })
    }

    fn agents(&self) -> Result<Vec<AgentAccount>> {
        self.read("listing agents", |c| {
            Ok(c.query(
                "SELECT email, name, teams, password_hash, created_ms FROM agents ORDER BY email",
                &[],
            )?
            .iter()
            .map(agent_of)
            .collect())
        })
    }

    fn remove_agent(&self, email: &str) -> Result<bool> {
        self.tx("removing an agent", |tx| {
            tx.execute("DELETE FROM console_sessions WHERE user_id = $1", &[&email])?;
            Ok(tx.execute("DELETE FROM agents WHERE email = $1", &[&email])? == 1)
        })
    }

    fn create_session(&self, s: ConsoleSession) -> Result<()> {
        self.tx("starting a console session", |tx| {
            tx.execute(
                "INSERT INTO console_sessions (id_hash, user_id, csrf, created_ms, seen_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&s.id_hash, &s.user, &s.csrf, &s.created_ms, &s.seen_ms],
            )?;
            Ok(())
        })
    }

    fn touch_session(
        &self,
        id_hash: &str,
        now_ms: i64,
        idle_ms: i64,
        max_ms: i64,
    ) -> Result<Option<ConsoleSession>> {
        self.tx("reading a console session", |tx| {
            let Some(r) = tx.query_opt(
                "SELECT id_hash, user_id, csrf, created_ms, seen_ms FROM console_sessions WHERE id_hash = $1",
                &[&id_hash],
            )?
            else {
                return Ok(None);
            };
            let mut s = ConsoleSession {
                id_hash: r.get(0),
                user: r.get(1),
                csrf: r.get(2),
                created_ms: r.get(3),
                seen_ms: r.get(4),
            };
            if now_ms - s.seen_ms > idle_ms || now_ms - s.created_ms > max_ms {
                tx.execute("DELETE FROM console_sessions WHERE id_hash = $1", &[&id_hash])?;
                return Ok(None);
            }
            if now_ms - s.seen_ms >= 60_000 {
                tx.execute(
                    "UPDATE console_sessions SET seen_ms = $2 WHERE id_hash = $1",
                    &[&id_hash, &now_ms],
                )?;
                s.seen_ms = now_ms;
            }
            Ok(Some(s))
        })
    }

    fn delete_session(&self, id_hash: &str) -> Result<()> {
        self.tx("ending a console session", |tx| {
            tx.execute(
                "DELETE FROM console_sessions WHERE id_hash = $1",
                &[&id_hash],
            )?;
            Ok(())
        })
    }

    fn expire_sessions(&self, now_ms: i64, idle_ms: i64, max_ms: i64) -> Result<usize> {
        let (seen, created) = (now_ms - idle_ms, now_ms - max_ms);
        self.tx("expiring console sessions", |tx| {
            let n = tx.execute(
                "DELETE FROM console_sessions WHERE seen_ms < $1 OR created_ms < $2",
                &[&seen, &created],
            )?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }
}

fn agent_of(r: &::postgres::Row) -> AgentAccount {
    let teams: String = r.get(2);
    AgentAccount {
        email: r.get(0),
        name: r.get(1),
        teams: serde_json::from_str(&teams).unwrap_or_default(),
        password_hash: r.get(3),
        created_ms: r.get(4),
    }
}
