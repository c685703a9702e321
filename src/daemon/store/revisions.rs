//! Published script revisions: immutable, content-addressed copies of checked scripts.
//! `wafl publish` stores one and makes it active; every daemon on the database runs the
//! active revision and follows when it changes; `wafl rollback` makes an older one active
//! again. Records only: what may be published is decided by the checker and
//! `crate::publish::migrate`.

/// A revision to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRevision {
    /// The script's content hash (`sha256:…`, as `wafl build` stamps it).
    pub hash: String,
    /// The file name it was published from, for people (`support_desk.flow`).
    pub name: String,
    pub source: String,
    /// Who published it (`--author`, else `$USER`).
    pub author: String,
    pub message: String,
    /// What the checker said, in one line (`clean`, `2 warnings`).
    pub checked: String,
}

/// A stored revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    /// 1, 2, 3… in the order they were published.
    pub id: i64,
    pub hash: String,
    pub name: String,
    pub source: String,
    pub author: String,
    pub message: String,
    pub checked: String,
    pub created_ms: i64,
    /// Whether the daemons run it now.
    pub active: bool,
}
