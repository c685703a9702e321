//! Timers and hot reload. Timers live in storage, so they survive restarts: overdue
//! timers fire as soon as the daemon starts. The script is reloaded on SIGHUP or when
//! its file changes, and only if the new version checks clean and keeps every stage
//! that holds live cards.

use super::worker::Work;
use super::{Shared, load_script};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Fires due timers until shutdown.
pub async fn run(shared: Arc<Shared>) {
    let mut dispatched: HashSet<(String, i64)> = HashSet::new();
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let now = jiff::Timestamp::now().as_millisecond();
        let due = shared
            .db
            .run(move |s| s.due_timers(now))
            .await
            .unwrap_or_default();
        let keys: HashSet<(String, i64)> = due.iter().map(|t| (t.id.clone(), t.due_ms)).collect();
        dispatched.retain(|k| keys.contains(k));
        for t in due {
            if dispatched.insert((t.id.clone(), t.due_ms)) {
                shared.dispatch(Work::Timer {
                    contact: t.contact,
                    id: t.payload,
                    db_id: t.id,
                    due_ms: t.due_ms,
                });
            }
        }
        let next = shared.db.run(|s| s.next_timer_ms()).await.ok().flatten();
        let wait = next
            .map(|n| (n - jiff::Timestamp::now().as_millisecond()).clamp(10, 1000))
            .unwrap_or(1000);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = shared.timer_notify.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
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
    if loaded.hash == current.hash {
        return Reload::Unchanged;
    }
    let live = shared
        .db
        .run(|s| s.conversations(None))
        .await
        .unwrap_or_default();
    let mut missing: Vec<String> = live
        .iter()
        .filter_map(|(_, stage, _)| stage.clone())
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
        let now = mtime(&path);
        if !by_signal && now == last {
            continue;
        }
        last = now;
        match reload(&shared).await {
            Reload::Applied { hash } => {
                tracing::info!(script = %hash.strip_prefix("sha256:").unwrap_or(&hash).get(..12).unwrap_or(""), "script reloaded")
            }
            Reload::Unchanged => {}
            Reload::Refused { reason } => tracing::error!("reload refused: {reason}"),
        }
    }
}
