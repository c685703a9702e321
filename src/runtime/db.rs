//! The storage thread: one thread owns the SQLite connection and runs every request in
//! group commits — it takes all requests waiting in its queue, runs them inside one
//! transaction (each in its own savepoint) and commits once, so one fsync covers many
//! webhooks and engine steps. Results are delivered only after the commit succeeded:
//! nothing is acknowledged before it is durable.

use super::store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};

type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&mut Store) -> Deliver + Send>;

/// Most requests one group commit takes.
const MAX_GROUP: usize = 1024;

/// A handle to the storage thread; cheap to clone.
#[derive(Clone)]
pub struct Db {
    tx: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Starts the storage thread over an open store.
    pub fn start(mut store: Store) -> Db {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("wafl-db".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    let began = store.begin_group();
                    let mut delivers = Vec::with_capacity(jobs.len());
                    for job in jobs {
                        delivers.push(job(&mut store));
                    }
                    let committed = began
                        .and_then(|_| store.commit_group())
                        .map_err(|e| e.to_string());
                    if committed.is_err() {
                        // Leave no transaction open behind a failed commit.
                        let _ = store.rollback_group();
                    }
                    for d in delivers {
                        d(committed.clone());
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the storage thread: {e}");
        }
        Db { tx }
    }

    /// Runs `f` on the storage thread inside the next group commit; resolves once the
    /// group is committed.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |store| {
            let result = f(store);
            Box::new(move |committed| {
                let _ = tx.send(match committed {
                    Ok(()) => result,
                    Err(e) => Err(StoreError(format!("commit failed: {e}"))),
                });
            })
        });
        self.tx
            .send(job)
            .map_err(|_| StoreError("the storage thread has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError("the storage thread has stopped".into()))?
    }
}
