//! A fake OpenAI-compatible chat completions server on 127.0.0.1: it answers from a
//! script of canned replies (content, HTTP status, delay or a broken body) and records
//! what it was asked.

#![allow(dead_code)]

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One canned reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with `choices[0].message.content` set to this text.
    Content(String),
    /// This status with an error body (and `Retry-After: 0` for 429).
    Status(u16),
    /// Waits this long, then answers with the content.
    Slow(Duration, String),
    /// 200 with a body that is not a chat completion.
    Malformed,
}

/// What one request carried.
#[derive(Clone, Debug)]
pub struct Asked {
    pub authorization: Option<String>,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct Inner {
    replies: VecDeque<Reply>,
    asked: Vec<Asked>,
}

/// The running server.
#[derive(Clone)]
pub struct FakeAi {
    addr: std::net::SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeAi {
    pub fn url(&self) -> String {
        format!("http://{}/v1/chat/completions", self.addr)
    }

    /// Queues replies; when the queue is empty the server answers `none`.
    pub fn reply(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner
            .lock()
            .expect("fake lock")
            .replies
            .extend(replies);
    }

    pub fn asked(&self) -> Vec<Asked> {
        self.inner.lock().expect("fake lock").asked.clone()
    }
}

async fn complete(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let reply = {
        let mut g = inner.lock().expect("fake lock");
        g.asked.push(Asked {
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        });
        g.replies
            .pop_front()
            .unwrap_or(Reply::Content("none".into()))
    };
    let ok = |content: String| {
        axum::Json(serde_json::json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }]
        }))
        .into_response()
    };
    match reply {
        Reply::Content(c) => ok(c),
        Reply::Slow(d, c) => {
            tokio::time::sleep(d).await;
            ok(c)
        }
        Reply::Status(s) => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = (status, "{\"error\":{\"message\":\"busy\"}}").into_response();
            if s == 429 {
                r.headers_mut()
                    .insert("retry-after", axum::http::HeaderValue::from_static("0"));
            }
            r
        }
        Reply::Malformed => (StatusCode::OK, "{\"answer\": \"refund\"").into_response(),
    }
}

/// Starts a server on a free port of 127.0.0.1.
pub async fn start() -> FakeAi {
    let inner = Arc::new(Mutex::new(Inner::default()));
    let app = Router::new()
        .route("/v1/chat/completions", post(complete))
        .with_state(inner.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FakeAi { addr, inner }
}
