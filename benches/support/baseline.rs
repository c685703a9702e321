//! A minimal durable webhook server to measure `wafl run` against on the same machine and
//! load: axum, the same signature check, a JSON parse, a keyword decision, and a
//! three-statement write (inbound row, conversation upsert, outbox row) in group commits
//! on one SQLite writer thread in WAL mode with `synchronous=FULL`; 200 only after the
//! commit. What it leaves out (an engine, per-contact ordering, sends) is what the
//! ratio to it measures. (Included by `benches/load.rs` with `#[path]`.)

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use std::path::Path;
use std::sync::{Arc, mpsc};

/// One message's write, and who waits for its commit.
struct Job {
    wamid: String,
    contact: String,
    text: String,
    reply: String,
    done: tokio::sync::oneshot::Sender<bool>,
}

#[derive(Clone)]
struct App {
    secret: Arc<Vec<u8>>,
    tx: mpsc::Sender<Job>,
}

/// Starts the server on `listener` over a fresh database at `db`; runs until the process
/// ends, on a runtime of its own with `threads` workers.
pub fn start(db: &Path, secret: &str, listener: std::net::TcpListener, threads: usize) {
    let (tx, rx) = mpsc::channel::<Job>();
    let conn = rusqlite::Connection::open(db).expect("baseline db");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE inbound (seq INTEGER PRIMARY KEY, wamid TEXT NOT NULL UNIQUE,
           contact TEXT NOT NULL, body TEXT NOT NULL);
         CREATE TABLE conversations (contact TEXT PRIMARY KEY, last TEXT NOT NULL, n INTEGER NOT NULL);
         CREATE TABLE outbox (id INTEGER PRIMARY KEY, contact TEXT NOT NULL, body TEXT NOT NULL);",
    )
    .expect("baseline schema");
    std::thread::Builder::new()
        .name("baseline-db".into())
        .spawn(move || writer(conn, rx))
        .expect("baseline writer");
    let app = App {
        secret: Arc::new(secret.as_bytes().to_vec()),
        tx,
    };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .expect("baseline runtime");
        rt.block_on(async move {
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let router = axum::Router::new()
                .route("/webhook", post(receive))
                .route("/ready", get(|| async { "ok" }))
                .with_state(app);
            let _ = axum::serve(listener, router).await;
        });
    });
}

/// Group commits: everything waiting, one transaction, one fsync, then the answers.
fn writer(mut conn: rusqlite::Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while let Ok(j) = rx.try_recv() {
            jobs.push(j);
            if jobs.len() >= 1024 {
                break;
            }
        }
        let ok = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                let mut ins = tx.prepare_cached(
                    "INSERT INTO inbound (wamid, contact, body) VALUES (?1, ?2, ?3) ON CONFLICT(wamid) DO NOTHING",
                )?;
                let mut conv = tx.prepare_cached(
                    "INSERT INTO conversations (contact, last, n) VALUES (?1, ?2, 1)
                     ON CONFLICT(contact) DO UPDATE SET last = ?2, n = n + 1",
                )?;
                let mut out =
                    tx.prepare_cached("INSERT INTO outbox (contact, body) VALUES (?1, ?2)")?;
                for j in &jobs {
                    if ins.execute(rusqlite::params![j.wamid, j.contact, j.text])? == 1 {
                        conv.execute(rusqlite::params![j.contact, j.text])?;
                        out.execute(rusqlite::params![j.contact, j.reply])?;
                    }
                }
            }
            tx.commit()
        })()
        .is_ok();
        for j in jobs {
            let _ = j.done.send(ok);
        }
    }
}

async fn receive(State(app): State<App>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !wafl::daemon::wire::inbound::verify_signature(&app.secret, &body, sig) {
        return StatusCode::FORBIDDEN;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(m) = v.pointer("/entry/0/changes/0/value/messages/0") else {
        return StatusCode::OK;
    };
    let field = |p: &str| {
        m.pointer(p)
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string()
    };
    let text = field("/text/body");
    let reply = if text.contains("fatura") || text.contains("boleto") {
        format!("Billing: {text}")
    } else {
        "Hello".to_string()
    };
    let (done, wait) = tokio::sync::oneshot::channel();
    let job = Job {
        wamid: field("/id"),
        contact: field("/from"),
        text,
        reply,
        done,
    };
    if app.tx.send(job).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match wait.await {
        Ok(true) => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}
