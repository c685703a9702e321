//! Long-lived tasks under watch, so the daemon is never silently half-dead: a task that
//! panics (the outbox sender, the timer loop, the script watcher) is logged, counted
//! (`wafl_task_panics_total`) and restarted after a pause; a task that cannot be
//! restarted — a conversation shard, whose queue goes down with it — turns `/readyz` red.

use super::Shared;
use super::metrics::Metrics;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Runs `make()` until it returns; each time it panics, calls `on_panic` and starts it
/// again after `pause`, unless `stopping()` says the daemon is stopping.
pub fn restarting<F, Fut>(
    name: &'static str,
    pause: Duration,
    stopping: impl Fn() -> bool + Send + 'static,
    on_panic: impl Fn() + Send + 'static,
    make: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            match tokio::spawn(make()).await {
                Err(e) if e.is_panic() => {
                    on_panic();
                    tracing::error!(
                        task = name,
                        "a background task panicked; it restarts in {pause:?}"
                    );
                    tokio::time::sleep(pause).await;
                    if stopping() {
                        return;
                    }
                }
                _ => return,
            }
        }
    })
}

/// Starts a daemon task that is restarted whenever it panics.
pub fn spawn<F, Fut>(shared: &Arc<Shared>, name: &'static str, task: F) -> JoinHandle<()>
where
    F: Fn(Arc<Shared>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (a, b, c) = (shared.clone(), shared.clone(), shared.clone());
    restarting(
        name,
        Duration::from_secs(1),
        move || *a.shutdown.borrow(),
        move || Metrics::inc(&b.metrics.task_panics),
        move || task(c.clone()),
    )
}

/// Starts a task that cannot be restarted: if it panics, the daemon reports not ready.
pub fn spawn_critical(
    shared: &Arc<Shared>,
    name: &'static str,
    task: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<()> {
    let shared = shared.clone();
    tokio::spawn(async move {
        if let Err(e) = tokio::spawn(task).await
            && e.is_panic()
        {
            Metrics::inc(&shared.metrics.task_panics);
            shared
                .ready
                .store(false, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(
                task = name,
                "a background task panicked and cannot be restarted: /readyz reports not ready; restart the daemon"
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_panicking_task_is_restarted_until_it_finishes() {
        let runs = Arc::new(AtomicUsize::new(0));
        let panics = Arc::new(AtomicUsize::new(0));
        let (r, p) = (runs.clone(), panics.clone());
        let handle = restarting(
            "test",
            Duration::from_millis(1),
            || false,
            move || {
                p.fetch_add(1, Ordering::SeqCst);
            },
            move || {
                let n = r.fetch_add(1, Ordering::SeqCst);
                async move {
                    assert!(n >= 2, "deliberate failure {n}");
                }
            },
        );
        handle.await.expect("supervisor ends");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(panics.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_stopping_daemon_does_not_restart() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        restarting(
            "test",
            Duration::from_millis(1),
            || true,
            || {},
            move || {
                r.fetch_add(1, Ordering::SeqCst);
                async { panic!("deliberate failure") }
            },
        )
        .await
        .expect("supervisor ends");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
