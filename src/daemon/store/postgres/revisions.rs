//! The PostgreSQL side of [`crate::daemon::store::Store`]'s script revisions.

use super::store::{E, R};
use crate::daemon::store::{NewRevision, Revision, StoreError};
use ::postgres::GenericClient;

const SELECT: &str =
    "SELECT r.id, r.hash, r.name, r.source, r.author, r.message, r.checked, r.created_ms,
        EXISTS (SELECT 1 FROM active_revision a WHERE a.revision_id = r.id)
   FROM revisions r";

fn row(r: &::postgres::Row) -> Revision {
    Revision {
        id: r.get(0),
        hash: r.get(1),
        name: r.get(2),
        source: r.get(3),
        author: r.get(4),
        message: r.get(5),
        checked: r.get(6),
        created_ms: r.get(7),
        active: r.get(8),
    }
}

pub(super) fn publish(c: &mut impl GenericClient, rev: &NewRevision, now_ms: i64) -> R<Revision> {
    c.execute(
        "INSERT INTO revisions (hash, name, source, author, message, checked, created_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (hash) DO NOTHING",
        &[
            &rev.hash,
            &rev.name,
            &rev.source,
            &rev.author,
            &rev.message,
            &rev.checked,
            &now_ms,
        ],
    )?;
    let id: i64 = c
        .query_one("SELECT id FROM revisions WHERE hash = $1", &[&rev.hash])?
        .get(0);
    activate(c, id, now_ms)
}

pub(super) fn activate(c: &mut impl GenericClient, id: i64, now_ms: i64) -> R<Revision> {
    if c.query_opt("SELECT id FROM revisions WHERE id = $1", &[&id])?
        .is_none()
    {
        return Err(E::Store(StoreError::NotFound(format!(
            "there is no revision {id}; `wafl revisions` lists them"
        ))));
    }
    c.execute(
        "INSERT INTO active_revision (one, revision_id, activated_ms) VALUES (1, $1, $2)
         ON CONFLICT (one) DO UPDATE SET revision_id = EXCLUDED.revision_id,
                                         activated_ms = EXCLUDED.activated_ms",
        &[&id, &now_ms],
    )?;
    Ok(row(
        &c.query_one(&format!("{SELECT} WHERE r.id = $1"), &[&id])?
    ))
}

pub(super) fn active(c: &mut impl GenericClient) -> R<Option<Revision>> {
    Ok(c.query_opt(
        &format!("{SELECT} JOIN active_revision a ON a.revision_id = r.id"),
        &[],
    )?
    .as_ref()
    .map(row))
}

pub(super) fn all(c: &mut impl GenericClient) -> R<Vec<Revision>> {
    Ok(c.query(&format!("{SELECT} ORDER BY r.id DESC"), &[])?
        .iter()
        .map(row)
        .collect())
}
