//! The sandbox: a chat page and its JSON endpoints, available when the daemon runs without
//! WhatsApp credentials. Replies are kept in memory; webhooks are recorded, not made.

use super::S;
use crate::daemon::wire::inbound::{self, Inbound};
use crate::daemon::{Channel, intake};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

const SANDBOX_HTML: &str = include_str!("sandbox.html");

pub(super) async fn page(State(shared): S) -> Response {
    if !matches!(shared.channel, Channel::Sandbox(_)) {
        return (
            StatusCode::NOT_FOUND,
            "the sandbox is only available without WhatsApp credentials",
        )
            .into_response();
    }
    Html(SANDBOX_HTML.replace("{{NAME}}", &html_escape(&shared.script().program.name)))
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Deserialize)]
pub(super) struct SandboxSend {
    contact: String,
    name: Option<String>,
    text: Option<String>,
    button: Option<String>,
    row: Option<String>,
}

pub(super) async fn send(State(shared): S, axum::Json(req): axum::Json<SandboxSend>) -> Response {
    if !matches!(shared.channel, Channel::Sandbox(_)) {
        return (
            StatusCode::NOT_FOUND,
            "the sandbox is only available without WhatsApp credentials",
        )
            .into_response();
    }
    let content = if let Some(t) = req.button {
        inbound::Content::ButtonReply {
            id: String::new(),
            title: t,
        }
    } else if let Some(t) = req.row {
        inbound::Content::ListReply {
            id: String::new(),
            title: t,
        }
    } else {
        inbound::Content::Text(req.text.unwrap_or_default())
    };
    let from = match contact_key(&shared, &req.contact) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let now = jiff::Timestamp::now();
    let msg = inbound::InMessage {
        id: format!(
            "sandbox.in.{}.{}",
            now.as_nanosecond(),
            rand::random::<u32>()
        ),
        from,
        profile_name: req.name,
        timestamp: now.as_second(),
        phone_number_id: "sandbox".into(),
        context_id: None,
        content,
    };
    intake::respond(intake::ingest(&shared, vec![Inbound::Message(msg)]).await)
}

#[derive(Deserialize)]
pub(super) struct SandboxQuery {
    contact: String,
}

pub(super) async fn messages(State(shared): S, Query(q): Query<SandboxQuery>) -> Response {
    let Channel::Sandbox(sandbox) = &shared.channel else {
        return (
            StatusCode::NOT_FOUND,
            "the sandbox is only available without WhatsApp credentials",
        )
            .into_response();
    };
    let contact = match contact_key(&shared, &q.contact) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let msgs: Vec<Value> = sandbox
        .sent
        .lock()
        .map(|v| {
            v.iter()
                .filter(|(to, _)| *to == contact)
                .map(|(_, m)| m.clone())
                .collect()
        })
        .unwrap_or_default();
    axum::Json(json!({ "messages": msgs })).into_response()
}

/// GET /sandbox/webhooks: the webhook requests the sandbox recorded instead of making.
pub(super) async fn webhooks(State(shared): S) -> Response {
    let Channel::Sandbox(sandbox) = &shared.channel else {
        return (
            StatusCode::NOT_FOUND,
            "the sandbox is only available without WhatsApp credentials",
        )
            .into_response();
    };
    let calls = sandbox
        .webhooks
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default();
    axum::Json(json!({ "webhooks": calls })).into_response()
}

/// The sandbox's contact in any common spelling, as storage and WhatsApp key it.
fn contact_key(shared: &crate::daemon::Shared, text: &str) -> Result<String, Box<Response>> {
    crate::daemon::console::phone::parse(
        text,
        shared.config.console.default_country_code.as_deref(),
    )
    .map(|p| p.key().to_string())
    .map_err(|e| Box::new((StatusCode::BAD_REQUEST, e.0).into_response()))
}
