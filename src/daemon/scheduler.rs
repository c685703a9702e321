//! Timers and hot reload (of the file, or of the database's active revision). Timers live in storage, so they survive restarts: overdue
//! timers fire as soon as the daemon starts. The script is reloaded on SIGHUP or when
//! its file changes, and only if the new version checks clean, keeps every stage that
//! holds live cards, and keeps unchanged every handler a card waits in (by stable key
//! and fingerprint of its compiled code).

use super::worker::Work;
use super::{Shared, load_script};
use std::sync::Arc;
use std::time::Duration;

/// How long a claimed timer is not handed out again (the step that fires it deletes it;
/// a step that failed leaves it to be claimed again after this).
const TIMER_LEASE_MS: i64 = 60_000;

/// Fires due timers until shutdown.
pub async fn run(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let now = jiff::Timestamp::now().as_millisecond();
        let due = shared
            .db
            .run(move |s| s.claim_due_timers(now, TIMER_LEASE_MS, 4096))
            .await
            .unwrap_or_default();
        let full = due.len() == 4096;
        for t in due {
            shared.dispatch(Work::Timer {
                contact: t.contact,
                id: t.timer,
                db_id: t.id,
                due_ms: t.due_ms,
            });
        }
        // Messages stored by another instance that let go of them or died (always
        // none for a daemon alone on its database).
        let orphans = shared
            .db
            .run(move |s| s.claim_inbound(now, 1024))
            .await
            .unwrap_or_default();
        for row in orphans {
            match serde_json::from_str::<super::wire::inbound::InMessage>(&row.payload) {
                Ok(msg) => shared.dispatch(Work::Inbound {
                    seq: row.seq,
                    contact: row.contact,
                    msg,
                }),
                Err(e) => tracing::error!("stored inbound message {} is unreadable: {e}", row.seq),
            }
        }
        let next = shared.db.run(|s| s.next_timer_ms()).await.ok().flatten();
        let wait = if full {
            0
        } else {
            next.map(|n| (n - jiff::Timestamp::now().as_millisecond()).clamp(10, 1000))
                .unwrap_or(1000)
        };
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = shared.timer_notify.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The handlers cards wait in that `program` would not resume them in (gone, or their
/// code changed), as lines of a diagnostic; empty when every waiting card is safe.
pub async fn stranded_cards(
    shared: &Shared,
    program: &crate::compile::Program,
) -> Result<Vec<String>, String> {
    let waiting = shared
        .db
        .run(|s| s.waiting_cards())
        .await
        .map_err(|e| e.to_string())?;
    Ok(stranded_in(&waiting, program))
}

/// See [`stranded_cards`].
pub fn stranded_in(
    waiting: &[super::store::WaitingCount],
    program: &crate::compile::Program,
) -> Vec<String> {
    waiting
        .iter()
        .filter_map(|w| match w.handler.resolve(program) {
            Ok(_) => None,
            Err(super::store::persisted::PersistError::HandlerChanged { handler, how }) => Some(
                format!("  {handler}: {how}; {} card(s) wait in it", w.cards),
            ),
            Err(e) => Some(format!(
                "  {}: {e}; {} card(s) wait in it",
                w.handler.key, w.cards
            )),
        })
        .collect()
}

/// The outcome of a reload attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Applied { hash: String },
    Refused { reason: String },
}

/// Loads the script file again and swaps it in if it is safe.
pub async fn reload(shared: &Arc<Shared>) -> Reload {
    let current = shared.script();
    let path = current.path.clone();
    let loaded = match load_script(&path) {
        Ok(l) => l,
        Err(diagnostics) => {
            return Reload::Refused {
                reason: format!(
                    "the new script has errors; the old one keeps running:\n{diagnostics}"
                ),
            };
        }
    };
    swap_in(shared, loaded).await
}

/// Swaps `loaded` in for the running script if every waiting card can resume in it and
/// every stage holding live cards is still there.
pub async fn swap_in(shared: &Arc<Shared>, loaded: super::Loaded) -> Reload {
    let current = shared.script();
    if loaded.hash == current.hash {
        return Reload::Unchanged;
    }
    // A card waiting in an `ask`, `call` or AI step resumes in the code it waits in:
    // that handler must still be there, unchanged.
    match stranded_cards(shared, &loaded.program).await {
        Ok(lines) if !lines.is_empty() => {
            return Reload::Refused {
                reason: format!(
                    "the new script changes or removes handlers that cards are waiting in; the old script keeps running. Let those cards finish, or keep these handlers as they are:\n{}",
                    lines.join("\n")
                ),
            };
        }
        Ok(_) => {}
        Err(e) => {
            return Reload::Refused {
                reason: format!(
                    "cannot read the waiting cards ({e}); the old script keeps running"
                ),
            };
        }
    }
    let live = shared
        .db
        .run(|s| s.conversations(None))
        .await
        .unwrap_or_default();
    let mut missing: Vec<String> = live
        .iter()
        .filter_map(|c| c.stage.clone())
        .filter(|stage| !loaded.program.stage_ids.contains_key(stage))
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        return Reload::Refused {
            reason: format!(
                "the new script removes stage(s) {} that hold live conversations; the old script keeps running",
                missing
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
    }
    let hash = loaded.hash.clone();
    shared.replace_script(loaded);
    Reload::Applied { hash }
}

/// Watches for SIGHUP and for changes of the script file.
pub async fn watch_script(shared: Arc<Shared>) {
    let path = shared.script().path.clone();
    let mtime = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut last = mtime(&path);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut shutdown = shared.shutdown.subscribe();
    // The revision last refused, so the refusal is logged once, not every second.
    let mut refused_revision: Option<i64> = None;
    loop {
        #[cfg(unix)]
        let hup_fut = async {
            match hup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hup_fut = std::future::pending::<()>();
        let by_signal = tokio::select! {
            _ = hup_fut => true,
            _ = tokio::time::sleep(Duration::from_secs(1)) => false,
            _ = shutdown.changed() => return,
        };
        // A published revision decides what runs; the file is then only a draft.
        let active = shared.db.run(|s| s.active_revision()).await.ok().flatten();
        let now = mtime(&path);
        if let Some(rev) = active {
            if now != last {
                last = now;
                tracing::warn!(
                    "`{}` changed, but the database runs published revision {}: publish the file with `wafl publish` to make it live",
                    path.display(),
                    rev.id
                );
            }
            if rev.hash == shared.script().hash {
                continue;
            }
            let outcome =
                match super::script::load_source(std::path::Path::new(&rev.name), rev.source) {
                    Ok(loaded) => swap_in(&shared, loaded).await,
                    Err(e) => Reload::Refused {
                        reason: format!("revision {} does not check here: {e}", rev.id),
                    },
                };
            match outcome {
                Reload::Applied { hash } => {
                    tracing::info!(revision = rev.id, script = %hash, "now running the active revision")
                }
                Reload::Unchanged => {}
                Reload::Refused { reason } => {
                    if refused_revision != Some(rev.id) {
                        refused_revision = Some(rev.id);
                        tracing::error!("cannot follow revision {}: {reason}", rev.id);
                    }
                }
            }
            continue;
        }
        if !by_signal && now == last {
            continue;
        }
        last = now;
        match reload(&shared).await {
            Reload::Applied { hash } => {
                tracing::info!(script = %super::short_hash(&hash), "script reloaded")
            }
            Reload::Unchanged => {}
            Reload::Refused { reason } => tracing::error!("reload refused: {reason}"),
        }
    }
}
