//! The SQLite side of [`crate::daemon::store::Store`]'s script revisions.

use super::{Conn, collect};
use crate::daemon::store::{NewRevision, Result, Revision, StoreError};
use rusqlite::{OptionalExtension, params};

const SELECT: &str =
    "SELECT r.id, r.hash, r.name, r.source, r.author, r.message, r.checked, r.created_ms,
        EXISTS (SELECT 1 FROM active_revision a WHERE a.revision_id = r.id)
   FROM revisions r";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Revision> {
    Ok(Revision {
        id: r.get(0)?,
        hash: r.get(1)?,
        name: r.get(2)?,
        source: r.get(3)?,
        author: r.get(4)?,
        message: r.get(5)?,
        checked: r.get(6)?,
        created_ms: r.get(7)?,
        active: r.get(8)?,
    })
}

impl Conn {
    pub(super) fn publish_revision(&mut self, rev: &NewRevision, now_ms: i64) -> Result<Revision> {
        self.conn.execute(
            "INSERT INTO revisions (hash, name, source, author, message, checked, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (hash) DO NOTHING",
            params![
                rev.hash,
                rev.name,
                rev.source,
                rev.author,
                rev.message,
                rev.checked,
                now_ms
            ],
        )?;
        let id: i64 = self.conn.query_row(
            "SELECT id FROM revisions WHERE hash = ?1",
            params![rev.hash],
            |r| r.get(0),
        )?;
        self.activate_revision(id, now_ms)
    }

    pub(super) fn activate_revision(&mut self, id: i64, now_ms: i64) -> Result<Revision> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT id FROM revisions WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!(
                "there is no revision {id}; `wafl revisions` lists them"
            )));
        }
        self.conn.execute(
            "INSERT INTO active_revision (one, revision_id, activated_ms) VALUES (1, ?1, ?2)
             ON CONFLICT (one) DO UPDATE SET revision_id = excluded.revision_id,
                                             activated_ms = excluded.activated_ms",
            params![id, now_ms],
        )?;
        Ok(self
            .conn
            .query_row(&format!("{SELECT} WHERE r.id = ?1"), params![id], row)?)
    }

    pub(super) fn active_revision(&self) -> Result<Option<Revision>> {
        Ok(self
            .conn
            .query_row(
                &format!("{SELECT} JOIN active_revision a ON a.revision_id = r.id"),
                [],
                row,
            )
            .optional()?)
    }

    pub(super) fn revisions(&self) -> Result<Vec<Revision>> {
        let mut stmt = self.conn.prepare(&format!("{SELECT} ORDER BY r.id DESC"))?;
        collect(stmt.query_map([], row)?)
    }
}
