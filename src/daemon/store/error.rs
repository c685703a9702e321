//! Typed errors of the storage layer.

/// What went wrong in a storage operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or created.
    #[error("cannot open the database `{path}`: {reason}")]
    Open { path: String, reason: String },
    /// The database was written by a newer wafl.
    #[error(
        "the database has schema version {found}, newer than this wafl knows ({known}); upgrade wafl"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// A migration failed; the database is left at the previous version.
    #[error("schema migration {version} ({name}) failed: {reason}")]
    Migration {
        version: i64,
        name: &'static str,
        reason: String,
    },
    /// The backend reported an error while doing `op`.
    #[error("storage failed while {op}: {reason}")]
    Backend { op: &'static str, reason: String },
    /// The group commit that carried this operation failed; nothing of it was kept.
    #[error("the commit failed: {0}")]
    Commit(String),
    /// The storage thread or pool is gone (the daemon is stopping or crashed).
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// Another daemon on the same database got there first (the message was processed,
    /// an earlier message of the contact is still waiting, or the conversation changed
    /// since it was read): nothing of this call was kept. Read again and retry.
    #[error("another instance changed this first: {0}")]
    Conflict(String),
    /// The record asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A stored body could not be read.
    #[error(transparent)]
    Persisted(#[from] super::persisted::PersistError),
}

pub type Result<T> = std::result::Result<T, StoreError>;
