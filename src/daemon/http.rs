//! The HTTP face of the daemon (axum): the WhatsApp webhook (verification handshake and
//! signed POSTs), health and metrics, the admin API for human agents, and the sandbox.

use super::metrics::Metrics;
use super::outbox::item::OutboxItem;
use super::store::{DeadLetterSelection, IngestBatch, NewInbound, NewStatus};
use super::wire::inbound::{self, Inbound, StatusKind};
use super::worker::Work;
use super::{Channel, Shared};
use crate::engine::{AgentAction, DeliveryStatus};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

type S = State<Arc<Shared>>;

pub fn router(shared: Arc<Shared>) -> Router {
    let limit = shared.config.max_body_bytes;
    Router::new()
        .route("/webhook", get(verify).post(receive))
        .route("/flows/endpoint", post(super::flows::endpoint))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/admin/cards", get(admin_cards))
        .route("/admin/cards/{contact}", get(admin_card))
        .route("/admin/cards/{contact}/{action}", post(admin_action))
        .route("/admin/outbox/dead", get(admin_dead_letters))
        .route("/admin/outbox/retry", post(admin_retry_all))
        .route("/admin/outbox/{id}/retry", post(admin_retry_one))
        .route("/sandbox/webhooks", get(sandbox_webhooks))
        .route("/sandbox", get(sandbox_page))
        .route("/sandbox/send", post(sandbox_send))
        .route("/sandbox/messages", get(sandbox_messages))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
}

/// Serves until SIGINT or SIGTERM, then drains: in-flight requests finish, the outbox
/// sender finishes the requests it started, and storage commits what it holds.
pub async fn serve(shared: Arc<Shared>, listener: tokio::net::TcpListener) {
    let app = router(shared.clone());
    let stop = shared.clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: draining in-flight work");
            let _ = stop.shutdown.send(true);
        })
        .await;
    if let Err(e) = result {
        tracing::error!("server error: {e}");
    }
    // Give the outbox sender a moment to finish requests it had started.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

use super::wire::sign::constant_time_eq;

/// GET /webhook: `hub.mode=subscribe` with the right `hub.verify_token` echoes the challenge.
async fn verify(State(shared): S, Query(q): Query<HashMap<String, String>>) -> Response {
    let mode = q.get("hub.mode").map(String::as_str);
    let token = q
        .get("hub.verify_token")
        .map(String::as_bytes)
        .unwrap_or_default();
    let expected = shared
        .config
        .verify_token
        .as_ref()
        .map(|t| t.expose().as_bytes());
    match (mode, expected) {
        (Some("subscribe"), Some(expected)) if constant_time_eq(token, expected) => {
            let challenge = q.get("hub.challenge").cloned().unwrap_or_default();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                challenge,
            )
                .into_response()
        }
        _ => (StatusCode::FORBIDDEN, "verification failed").into_response(),
    }
}

/// POST /webhook: verify the signature over the raw body, store the batch durably, then
/// answer 200 and hand the new messages to their conversations.
async fn receive(State(shared): S, headers: HeaderMap, body: Bytes) -> Response {
    let span = tracing::info_span!("webhook", script = %shared.script().hash_short());
    tracing::Instrument::instrument(receive_inner(shared, headers, body), span).await
}

async fn receive_inner(shared: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    Metrics::inc(&shared.metrics.webhooks_received);
    if let Some(secret) = &shared.config.app_secret {
        let sig = headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok());
        if sig.is_none() {
            Metrics::inc(&shared.metrics.webhooks_rejected);
            return (StatusCode::UNAUTHORIZED, "missing X-Hub-Signature-256").into_response();
        }
        if !inbound::verify_signature(secret.expose().as_bytes(), &body, sig) {
            Metrics::inc(&shared.metrics.webhooks_rejected);
            return (StatusCode::FORBIDDEN, "bad X-Hub-Signature-256").into_response();
        }
    }
    let items = match inbound::decode(&body) {
        Ok(items) => items,
        Err(e) => {
            // Not a webhook at all: keep it for inspection, acknowledge so it is not
            // redelivered forever, and say so in the log.
            Metrics::inc(&shared.metrics.unknown_payloads);
            tracing::warn!("undecodable webhook body stored: {e}");
            let raw = String::from_utf8_lossy(&body).into_owned();
            let batch = IngestBatch {
                unknown: vec![("undecodable".into(), raw)],
                ..Default::default()
            };
            let now = jiff::Timestamp::now().as_millisecond();
            return match shared.db.run(move |s| s.ingest(batch, now)).await {
                Ok(_) => StatusCode::OK.into_response(),
                Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            };
        }
    };
    ingest(&shared, items).await
}

/// Stores decoded items and dispatches the new ones. Shared by the webhook and the sandbox.
pub async fn ingest(shared: &Arc<Shared>, items: Vec<Inbound>) -> Response {
    let mut batch = IngestBatch::default();
    let mut statuses = Vec::new();
    let mut decoded: HashMap<String, inbound::InMessage> = HashMap::new();
    for item in items {
        match item {
            Inbound::Message(m) => {
                shared.metrics.count(
                    "messages_in_total",
                    &format!("type=\"{}\"", content_kind(&m.content)),
                );
                batch.messages.push(NewInbound {
                    wamid: m.id.clone(),
                    contact: m.from.clone(),
                    payload: serde_json::to_string(&m).unwrap_or_default(),
                });
                decoded.insert(m.id.clone(), m);
            }
            Inbound::Status(s) => {
                Metrics::inc(&shared.metrics.statuses_received);
                batch.statuses.push(NewStatus {
                    wamid: s.id.clone(),
                    status: s.status.as_str().to_string(),
                    at: s.timestamp,
                    payload: serde_json::to_string(&s).unwrap_or_default(),
                });
                statuses.push(s);
            }
            Inbound::Error(e) => {
                tracing::warn!(
                    code = e.code,
                    "WhatsApp reported an error: {} {}",
                    e.title,
                    e.details
                );
                shared
                    .metrics
                    .count("webhook_errors_total", &format!("code=\"{}\"", e.code));
            }
            Inbound::Unknown { field, raw } => {
                Metrics::inc(&shared.metrics.unknown_payloads);
                tracing::info!(field = %field, "stored a webhook change wafl does not handle");
                batch.unknown.push((field, raw.to_string()));
            }
        }
    }
    let now = jiff::Timestamp::now().as_millisecond();
    let result = match shared.db.run(move |s| s.ingest(batch, now)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("could not store a webhook batch; WhatsApp will redeliver it: {e}");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    for _ in 0..result.duplicate_messages {
        Metrics::inc(&shared.metrics.inbound_duplicates);
    }
    for row in result.new_messages {
        if let Some(msg) = decoded.remove(&row.wamid) {
            shared.dispatch(Work::Inbound {
                seq: row.seq,
                contact: row.contact,
                msg,
            });
        }
    }
    for s in statuses {
        if !result
            .new_statuses
            .iter()
            .any(|n| n.wamid == s.id && n.status == s.status.as_str())
        {
            continue;
        }
        let row_id = s
            .callback_data
            .as_deref()
            .and_then(|c| c.parse::<i64>().ok());
        let wamid = s.id.clone();
        let status_name = s.status.as_str().to_string();
        let found = shared
            .db
            .run(move |st| st.apply_status(&wamid, &status_name, row_id))
            .await;
        let Ok(Some(found)) = found else { continue };
        let code = s
            .errors
            .first()
            .map(|e| u32::try_from(e.code).unwrap_or(0))
            .unwrap_or(0);
        // A closed window reported by a `failed` status takes the same path as the
        // synchronous 131047: the window template goes out instead, once.
        if matches!(s.status, StatusKind::Failed)
            && code == 131047
            && let OutboxItem::Whatsapp {
                to,
                engine_id,
                message,
            } = &found.item
            && let Some(item) = super::outbox::window_fallback(shared, to, engine_id, message)
        {
            let contact = found.contact.clone();
            let key = format!("{contact}:x{}:window", found.id);
            let queued = shared
                .db
                .run(move |st| st.enqueue(&contact, item, &key, now))
                .await;
            if let Err(e) = queued {
                tracing::error!("cannot queue the window template: {e}");
            }
            shared.outbox_notify.notify_one();
            continue;
        }
        let status = match &s.status {
            StatusKind::Sent => Some(DeliveryStatus::Sent),
            StatusKind::Delivered => Some(DeliveryStatus::Delivered),
            StatusKind::Read | StatusKind::Played => Some(DeliveryStatus::Read),
            StatusKind::Failed => Some(DeliveryStatus::Failed { code }),
            _ => None,
        };
        if let Some(status) = status {
            shared.feed_status(
                &found.contact,
                found.item.engine_id(),
                status,
                &format!("s{}{}", s.id, s.status.as_str()),
            );
        }
    }
    StatusCode::OK.into_response()
}

fn content_kind(c: &inbound::Content) -> &'static str {
    use inbound::Content::*;
    match c {
        Text(_) => "text",
        ButtonReply { .. } => "button",
        ListReply { .. } => "list",
        TemplateButton { .. } => "template_button",
        FlowReply { .. } => "form",
        Media { .. } => "media",
        Location { .. } => "location",
        Contacts { .. } => "contacts",
        Reaction { .. } => "reaction",
        Unsupported { .. } => "unsupported",
        Other { .. } => "other",
    }
}

async fn ready(State(shared): S) -> Response {
    let up = shared.ready.load(std::sync::atomic::Ordering::Relaxed);
    // The database answers, or this instance cannot take webhooks (they get 503 and
    // WhatsApp delivers them again).
    let db = match shared.db.run(|s| s.schema_version()).await {
        Ok(v) => Ok(format!("database: ok (schema {v})")),
        Err(e) => Err(format!("database: {e}")),
    };
    match (up, db) {
        (true, Ok(db)) => (StatusCode::OK, format!("ready\n{db}\n")).into_response(),
        (_, Err(db)) | (false, Ok(db)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready\n{db}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(shared): S) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        shared.metrics.render(),
    )
        .into_response()
}

/// Admin requests need `Authorization: Bearer <WAFL_ADMIN_TOKEN>`; without a configured
/// token the admin API is off.
fn authorized(shared: &Shared, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(expected) = &shared.config.admin_token else {
        return Err(Box::new(
            (
                StatusCode::NOT_FOUND,
                "the admin API is off: set WAFL_ADMIN_TOKEN",
            )
                .into_response(),
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), expected.expose().as_bytes()) {
        Ok(())
    } else {
        Err(Box::new(
            (StatusCode::UNAUTHORIZED, "missing or wrong bearer token").into_response(),
        ))
    }
}

#[derive(Deserialize)]
struct CardsQuery {
    stage: Option<String>,
}

async fn admin_cards(
    State(shared): S,
    headers: HeaderMap,
    Query(q): Query<CardsQuery>,
) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return *r;
    }
    let stage = q.stage.clone();
    match shared
        .db
        .run(move |s| s.conversations(stage.as_deref()))
        .await
    {
        Ok(rows) => {
            let cards: Vec<Value> = rows
                .into_iter()
                .map(|c| {
                    let state = &c.body.state;
                    json!({ "contact": c.contact, "stage": c.stage, "status": state.pointer("/card/status"), "team": state.pointer("/card/team"), "agent": state.pointer("/card/agent") })
                })
                .collect();
            axum::Json(json!({ "cards": cards })).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn admin_card(State(shared): S, headers: HeaderMap, Path(contact): Path<String>) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return *r;
    }
    let c = contact.clone();
    let result = shared
        .db
        .run(move |s| Ok((s.conversation(&c)?, s.history(&c)?, s.audit(&c)?)))
        .await;
    match result {
        Ok((Some(stored), history, audit)) => {
            let state = stored.body.state;
            let history: Vec<Value> = history
                .into_iter()
                .map(|h| json!({ "direction": h.direction, "wamid": h.wamid, "body": serde_json::from_str::<Value>(&h.body).unwrap_or(Value::String(h.body)), "status": h.status, "at_ms": h.at_ms }))
                .collect();
            let audit: Vec<Value> = audit
                .into_iter()
                .map(|a| json!({ "at_ms": a.at_ms, "script": a.script_hash, "event": serde_json::from_str::<Value>(&a.event).unwrap_or_default(), "effects": serde_json::from_str::<Value>(&a.effects).unwrap_or_default() }))
                .collect();
            axum::Json(
                json!({ "contact": contact, "state": state, "history": history, "audit": audit }),
            )
            .into_response()
        }
        Ok((None, _, _)) => (
            StatusCode::NOT_FOUND,
            format!("no conversation with {contact}"),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn admin_action(
    State(shared): S,
    headers: HeaderMap,
    Path((contact, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return *r;
    }
    let b: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return (StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")).into_response();
            }
        }
    };
    let text = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_string);
    let action = match action.as_str() {
        "reply" => match text("text") {
            Some(t) => AgentAction::Reply {
                agent: text("agent").unwrap_or_else(|| "agent".into()),
                text: t,
            },
            None => {
                return (StatusCode::BAD_REQUEST, "reply needs {\"text\": \"...\"}")
                    .into_response();
            }
        },
        "resolve" => AgentAction::Resolve {
            reason: text("reason"),
        },
        "reassign" => AgentAction::Reassign {
            agent: text("agent"),
            team: text("team"),
        },
        "release" => AgentAction::Release,
        other => {
            return (
                StatusCode::NOT_FOUND,
                format!("unknown action `{other}`; use reply, resolve, reassign or release"),
            )
                .into_response();
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    shared.dispatch(Work::Agent {
        contact,
        action,
        reply: tx,
    });
    match rx.await {
        Ok(Ok(effects)) => (
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"effects\":{effects}}}"),
        )
            .into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the conversation worker stopped",
        )
            .into_response(),
    }
}

// --- sandbox --------------------------------------------------------------------------

async fn sandbox_page(State(shared): S) -> Response {
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
struct SandboxSend {
    contact: String,
    name: Option<String>,
    text: Option<String>,
    button: Option<String>,
    row: Option<String>,
}

async fn sandbox_send(State(shared): S, axum::Json(req): axum::Json<SandboxSend>) -> Response {
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
    let now = jiff::Timestamp::now();
    let msg = inbound::InMessage {
        id: format!(
            "sandbox.in.{}.{}",
            now.as_nanosecond(),
            rand::random::<u32>()
        ),
        from: req.contact.trim_start_matches('+').to_string(),
        profile_name: req.name,
        timestamp: now.as_second(),
        phone_number_id: "sandbox".into(),
        context_id: None,
        content,
    };
    ingest(&shared, vec![Inbound::Message(msg)]).await
}

#[derive(Deserialize)]
struct SandboxQuery {
    contact: String,
}

async fn sandbox_messages(State(shared): S, Query(q): Query<SandboxQuery>) -> Response {
    let Channel::Sandbox(sandbox) = &shared.channel else {
        return (
            StatusCode::NOT_FOUND,
            "the sandbox is only available without WhatsApp credentials",
        )
            .into_response();
    };
    let contact = q.contact.trim_start_matches('+').to_string();
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
async fn sandbox_webhooks(State(shared): S) -> Response {
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

/// GET /admin/outbox/dead: the dead letters, oldest first.
async fn admin_dead_letters(State(shared): S, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return *r;
    }
    match shared.db.run(|s| s.dead_letters(10_000)).await {
        Ok(rows) => {
            let dead: Vec<Value> = rows
                .into_iter()
                .map(|d| json!({ "id": d.id, "contact": d.contact, "kind": d.kind.as_str(), "attempts": d.attempts, "error": d.error, "created_ms": d.created_ms, "item": d.item }))
                .collect();
            axum::Json(json!({ "dead_letters": dead })).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn retry_dead(shared: &Arc<Shared>, which: DeadLetterSelection) -> Response {
    let now = jiff::Timestamp::now().as_millisecond();
    match shared
        .db
        .run(move |s| s.retry_dead_letters(which, now))
        .await
    {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::info!("{} dead letter(s) queued again by the admin API", ids.len());
                shared.outbox_notify.notify_one();
            }
            axum::Json(json!({ "retried": ids })).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// POST /admin/outbox/{id}/retry: sends one dead letter again.
async fn admin_retry_one(State(shared): S, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return *r;
    }
    retry_dead(&shared, DeadLetterSelection::One(id)).await
}

/// POST /admin/outbox/retry: sends every dead letter again.
async fn admin_retry_all(State(shared): S, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return *r;
    }
    retry_dead(&shared, DeadLetterSelection::All).await
}

const SANDBOX_HTML: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wafl sandbox — {{NAME}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:560px;margin:2em auto;background:#ece5dd}
#chat{background:#fff;border-radius:8px;padding:1em;min-height:300px}
.me{text-align:right}.me span{background:#dcf8c6}.bot span{background:#f1f0f0}
.me span,.bot span{display:inline-block;padding:.4em .7em;border-radius:8px;margin:.2em;white-space:pre-wrap}
button.opt{margin:.2em;border:1px solid #34b7f1;background:#fff;border-radius:12px;padding:.3em .8em;cursor:pointer}
form{display:flex;gap:.5em;margin-top:1em}input{flex:1;padding:.5em}
</style></head><body>
<h2>{{NAME}} <small>(sandbox)</small></h2>
<p>You are <input id="contact" value="+5511999990000" style="width:12em"> named <input id="name" value="Sandbox" style="width:8em"></p>
<div id="chat"></div>
<form id="f"><input id="text" placeholder="Type a message" autocomplete="off"><button>Send</button></form>
<script>
const chat=document.getElementById('chat');let seen=0;const mine=[];
function contact(){return document.getElementById('contact').value}
function bubble(cls,text,opts,kind){const d=document.createElement('div');d.className=cls;const s=document.createElement('span');s.textContent=text;d.appendChild(s);
 (opts||[]).forEach(o=>{const b=document.createElement('button');b.className='opt';b.textContent=o;b.onclick=()=>send(kind==='list'?{row:o}:{button:o},o);d.appendChild(document.createElement('br'));d.appendChild(b)});chat.appendChild(d)}
async function send(extra,shown){bubble('me',shown);await fetch('/sandbox/send',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify(Object.assign({contact:contact(),name:document.getElementById('name').value},extra))});setTimeout(poll,150)}
async function poll(){const r=await fetch('/sandbox/messages?contact='+encodeURIComponent(contact()));const j=await r.json();
 for(const m of j.messages.slice(seen)){if(m.type==='text')bubble('bot',m.text.body);
  else if(m.type==='interactive'&&m.interactive.type==='button')bubble('bot',m.interactive.body.text,m.interactive.action.buttons.map(b=>b.reply.title),'button');
  else if(m.type==='interactive'&&m.interactive.type==='list')bubble('bot',m.interactive.body.text,m.interactive.action.sections[0].rows.map(r=>r.title),'list');
  else if(m.type==='template')bubble('bot','[template '+m.template.name+']');
  else bubble('bot','['+m.type+']')}
 seen=j.messages.length}
document.getElementById('f').onsubmit=e=>{e.preventDefault();const t=document.getElementById('text');if(t.value){send({text:t.value},t.value);t.value=''}};
setInterval(poll,1000);
</script></body></html>"#;
