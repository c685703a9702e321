//! Fake servers on 127.0.0.1 for daemon tests: a WhatsApp Graph API that records sends
//! and can be told to fail, and a webhook receiver that records calls.

#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted answer: `Ok` answers success, `Err((status, body))` fails.
pub type Answer = Result<(), (u16, String)>;

#[derive(Default)]
pub struct FakeState {
    pub requests: Mutex<Vec<Recorded>>,
    pub answers: Mutex<VecDeque<Answer>>,
    /// The JSON a successful webhook call answers with.
    pub reply: Mutex<Value>,
    /// How the server misbehaves (latency, random errors, outages).
    pub behaviour: Mutex<Behaviour>,
    /// The requests answered with success, in the order they were answered.
    pub delivered: Mutex<Vec<Recorded>>,
}

/// Misbehaviour of a fake server, changeable while it runs.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Every answer waits this long...
    pub delay_ms: u64,
    /// ...plus a random part up to this.
    pub jitter_ms: u64,
    /// Percentage of requests answered with Graph error 131056 (pair rate limit).
    pub fail_131056_percent: u32,
    /// An outage: every request gets a 503.
    pub down: bool,
}

#[derive(Clone)]
pub struct Fake {
    pub addr: SocketAddr,
    pub state: Arc<FakeState>,
}

impl Fake {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Queues answers for the next requests (then success again).
    pub fn fail_next(&self, answers: impl IntoIterator<Item = Answer>) {
        if let Ok(mut a) = self.state.answers.lock() {
            a.extend(answers);
        }
    }

    pub fn behave(&self, f: impl FnOnce(&mut Behaviour)) {
        if let Ok(mut b) = self.state.behaviour.lock() {
            f(&mut b);
        }
    }

    /// The requests answered with success, in answer order.
    pub fn delivered(&self) -> Vec<Recorded> {
        self.state
            .delivered
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Waits until `n` requests were answered with success (or a timeout).
    pub async fn wait_delivered(&self, n: usize, secs: u64) -> Vec<Recorded> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let r = self.delivered();
            if r.len() >= n || std::time::Instant::now() > deadline {
                return r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Waits until `n` requests arrived (or a timeout), returning them.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Recorded> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let r = self.requests();
            if r.len() >= n || std::time::Instant::now() > deadline {
                return r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

async fn handle(
    State(s): State<Arc<FakeState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let recorded = Recorded {
        path: uri.path().to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: body_json,
    };
    let n = {
        let mut r = s.requests.lock().expect("lock");
        r.push(recorded.clone());
        r.len()
    };
    let behaviour = s.behaviour.lock().expect("lock").clone();
    let wait = behaviour.delay_ms
        + if behaviour.jitter_ms > 0 {
            rand::random_range(0..=behaviour.jitter_ms)
        } else {
            0
        };
    if wait > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
    let answer = if behaviour.down {
        Err((
            503,
            "{\"error\":{\"code\":2,\"message\":\"outage\"}}".to_string(),
        ))
    } else if behaviour.fail_131056_percent > 0
        && rand::random_range(0..100) < behaviour.fail_131056_percent
    {
        graph_error(400, 131056)
    } else {
        s.answers
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or(Ok(()))
    };
    if answer.is_ok() {
        s.delivered.lock().expect("lock").push(recorded);
    }
    match answer {
        Ok(()) => {
            let reply = s.reply.lock().expect("lock").clone();
            if reply.is_null() {
                axum::Json(serde_json::json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": "x", "wa_id": "x"}],
                    "messages": [{"id": format!("wamid.fake{n}")}]
                }))
                .into_response()
            } else {
                axum::Json(reply).into_response()
            }
        }
        Err((status, body)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
            .into_response(),
    }
}

/// Starts a fake server on an ephemeral loopback port.
pub async fn start() -> Fake {
    let state = Arc::new(FakeState::default());
    let app = Router::new()
        .fallback(post(handle))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Fake { addr, state }
}

/// A Graph API error body with a code.
pub fn graph_error(status: u16, code: i64) -> Answer {
    Err((
        status,
        serde_json::json!({"error": {"message": format!("(#{code}) error"), "type": "OAuthException", "code": code, "error_data": {"details": "test"}}}).to_string(),
    ))
}
