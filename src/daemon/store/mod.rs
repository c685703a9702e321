//! The storage seam. Everything that must survive a crash goes through [`Store`]: inbound
//! messages (stored before WhatsApp gets its 200, deduplicated by wamid), delivery
//! statuses, conversation states, the message history, the per-contact outbox, timers,
//! flow tokens and the audit of every step.
//!
//! The trait is synchronous and made of *units of work*: each method is atomic and
//! durable when it returns. Backends choose how (the SQLite backend runs every call on
//! one writer thread in group commits). Async callers go through [`Db`], which runs calls
//! on the blocking pool.
//!
//! **Invariant:** nothing is acknowledged before the call that stored it returned `Ok`.
//! **Invariant:** a claim hands out only the head of each contact's outbox queue, and
//! never a head already in flight.

pub mod error;
pub mod model;
pub mod persisted;
pub mod postgres;
pub mod revisions;
pub mod sqlite;

pub use error::{Result, StoreError};
pub use model::*;
pub use revisions::{NewRevision, Revision};

use std::sync::Arc;

/// Durable storage of the daemon. Write side: units of work; read side: what reports,
/// the admin API and the console read.
pub trait Store: Send + Sync {
    /// The schema version the database is at (after migrations).
    fn schema_version(&self) -> Result<i64>;

    // ---- write side -------------------------------------------------------------------

    /// Stores one webhook batch atomically; duplicates (by wamid, by wamid + status) are
    /// recognised and skipped.
    fn ingest(&self, batch: IngestBatch, now_ms: i64) -> Result<IngestResult>;

    /// Keeps a rejected request for inspection.
    fn record_rejected(&self, kind: &str, raw: &str, now_ms: i64) -> Result<()>;

    /// Applies one engine step atomically: state (with its program hash and the handler
    /// its card waits in), history, outbox rows (queued behind the contact's earlier
    /// ones), timers, flow tokens, audit, and the consumed inbound row marked processed.
    fn apply_step(&self, step: StepWrite, now_ms: i64) -> Result<StepApplied>;

    /// After a crash: rows that were in flight may or may not have reached their
    /// receiver; they become pending again (receivers deduplicate on the idempotency
    /// key). Called once at start, before the sender runs.
    fn recover_inflight(&self) -> Result<usize>;

    /// Queues one item at the tail of the contact's queue outside a step (e.g. the
    /// window template after a `failed` status). A known idempotency key is not queued
    /// again; returns the new row's id.
    fn enqueue(
        &self,
        contact: &str,
        item: crate::daemon::outbox::item::OutboxItem,
        idem_key: &str,
        now_ms: i64,
    ) -> Result<Option<i64>>;

    /// Claims up to `limit` due rows, at most one per contact and only the head of its
    /// queue, marking them in flight and counting the attempt.
    fn claim_outbox(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxRow>>;

    /// Settles an attempt of a claimed row; the contact's next row becomes the head once
    /// this one is done or dead.
    fn settle_outbox(&self, id: i64, settlement: Settlement, now_ms: i64) -> Result<()>;

    /// Applies a delivery status to the history (the highest status wins, `failed` is
    /// final) and returns the outbox row it belongs to (by our row id echoed back, or by
    /// wamid). Statuses that arrive before the send's answer are kept by
    /// [`Store::ingest`] and applied when the answer is settled.
    fn apply_status(
        &self,
        wamid: &str,
        status: &str,
        row_id: Option<i64>,
    ) -> Result<Option<OutboxRef>>;

    /// Claims due timers for `lease_ms`: a claimed timer is not handed out again until
    /// its lease ends (the step that fires it deletes it).
    fn claim_due_timers(&self, now_ms: i64, lease_ms: i64, limit: usize) -> Result<Vec<TimerRow>>;

    /// Sends dead letters again: they become pending, due now, with a fresh retry
    /// horizon, in their original place in the contact's queue. Returns their ids.
    fn retry_dead_letters(&self, which: DeadLetterSelection, now_ms: i64) -> Result<Vec<i64>>;

    /// Whether other daemons write the same database, so that a state this one read may
    /// be changed by them (the worker then reads before every step instead of caching).
    fn shared(&self) -> bool {
        false
    }

    /// Claims up to `limit` stored messages that no instance is working on any more
    /// (their instance let go of them, or died and its lease ran out), for contacts none
    /// of whose messages another instance holds; oldest first. A single daemon over its
    /// own database never has any: it dispatches what it stores, and
    /// [`Store::pending_inbound`] at start.
    fn claim_inbound(&self, _now_ms: i64, _limit: usize) -> Result<Vec<InboundRow>> {
        Ok(Vec::new())
    }

    // ---- read side --------------------------------------------------------------------

    /// Inbound messages stored but not yet processed, oldest first (recovery on start).
    fn pending_inbound(&self) -> Result<Vec<InboundRow>>;

    /// Up to `limit` messages stored at or before `received_before_ms` and not yet
    /// processed, oldest first: what the periodic sweep hands to the shards when the
    /// hand-off after their commit never happened. Reads an index of unprocessed rows
    /// only, so it costs nothing when the daemon keeps up.
    fn unprocessed_inbound(&self, received_before_ms: i64, limit: usize)
    -> Result<Vec<InboundRow>>;

    /// The processing lag: how many stored messages are not processed yet, and when the
    /// oldest of them was received (ms).
    fn inbound_backlog(&self) -> Result<Backlog>;

    fn conversation(&self, contact: &str) -> Result<Option<StoredConversation>>;

    /// Stored conversations, optionally only those whose open card is in `stage`.
    fn conversations(&self, stage: Option<&str>) -> Result<Vec<StoredConversation>>;

    /// How many cards wait in each handler version (what a reload must keep).
    fn waiting_cards(&self) -> Result<Vec<WaitingCount>>;

    fn flow_token(&self, token: &str) -> Result<Option<FlowToken>>;

    /// Dead letters, oldest first.
    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>>;

    fn outbox_counts(&self) -> Result<OutboxCounts>;

    fn next_timer_ms(&self) -> Result<Option<i64>>;

    /// A contact's history, inbound and outbound in time order.
    fn history(&self, contact: &str) -> Result<Vec<HistoryRow>>;

    fn audit(&self, contact: &str) -> Result<Vec<AuditRow>>;

    /// Rejected or unknown input of one kind, oldest first.
    fn unknown_events(&self, kind: &str) -> Result<Vec<String>>;

    /// (inbound rows, processed rows).
    fn inbound_counts(&self) -> Result<(i64, i64)>;

    // ---- script revisions (`wafl publish`, `wafl rollback`) ------------------------------

    /// Stores a checked script as an immutable revision and makes it the active one, in
    /// one unit. A script whose hash is already a revision is not stored again: that
    /// revision becomes the active one.
    fn publish_revision(&self, rev: NewRevision, now_ms: i64) -> Result<Revision>;

    /// Makes an existing revision the active one (a rollback); `StoreError::NotFound`
    /// when there is no such revision.
    fn activate_revision(&self, id: i64, now_ms: i64) -> Result<Revision>;

    /// The revision the daemons on this database run, if one was published.
    fn active_revision(&self) -> Result<Option<Revision>>;

    /// Every revision, newest first.
    fn revisions(&self) -> Result<Vec<Revision>>;
    // ---- console accounts and sessions ------------------------------------------------

    /// Adds an agent's account; `false`, and nothing changed, when the e-mail exists.
    fn add_agent(&self, agent: AgentAccount) -> Result<bool>;

    fn agent(&self, email: &str) -> Result<Option<AgentAccount>>;

    /// Every agent, by e-mail.
    fn agents(&self) -> Result<Vec<AgentAccount>>;

    /// Removes an agent and ends their sessions; `false` when there was none.
    fn remove_agent(&self, email: &str) -> Result<bool>;

    fn create_session(&self, session: ConsoleSession) -> Result<()>;

    /// The session with this id hash if it was used within `idle_ms` and started within
    /// `max_ms` of `now_ms`; its last use moves to now (to the minute). An expired
    /// session is deleted.
    fn touch_session(
        &self,
        id_hash: &str,
        now_ms: i64,
        idle_ms: i64,
        max_ms: i64,
    ) -> Result<Option<ConsoleSession>>;

    fn delete_session(&self, id_hash: &str) -> Result<()>;

    /// Deletes every expired session; returns how many.
    fn expire_sessions(&self, now_ms: i64, idle_ms: i64, max_ms: i64) -> Result<usize>;
}

/// The async face of a [`Store`]: runs calls on the blocking pool, so the runtime's
/// threads never wait on storage. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    pub fn new(store: Arc<dyn Store>) -> Db {
        Db { store }
    }

    /// The store itself, for synchronous callers on their own threads.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs `f` against the store on the blocking pool.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| StoreError::Unavailable(format!("a storage call failed: {e}")))?
    }
}
