//! The admin JSON API: cards, agent actions and dead letters, behind
//! `Authorization: Bearer <WAFL_ADMIN_TOKEN>`.

use super::S;
use crate::daemon::Shared;
use crate::daemon::console::{self, api, auth::User, auth::Viewer, phone::Phone};
use crate::daemon::store::DeadLetterSelection;
use crate::daemon::wire::sign::constant_time_eq;
use crate::engine::AgentAction;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

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
pub(super) struct CardsQuery {
    stage: Option<String>,
}

pub(super) async fn cards(
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

pub(super) async fn card(
    State(shared): S,
    headers: HeaderMap,
    Path(contact): Path<String>,
) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return *r;
    }
    let contact = match phone(&shared, &contact) {
        Ok(p) => p.key().to_string(),
        Err(r) => return *r,
    };
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

pub(super) async fn action(
    State(shared): S,
    headers: HeaderMap,
    Path((contact, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return *r;
    }
    let p = match phone(&shared, &contact) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return (StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")).into_response();
            }
        }
    };
    // A reply here may name the agent who writes (`{"agent", "text"}`).
    let writer = if action == "reply" {
        b.as_object_mut()
            .and_then(|o| o.remove("agent"))
            .and_then(|a| a.as_str().map(str::to_string))
    } else {
        None
    };
    let manager = User::manager(&shared);
    let viewer = Viewer {
        user: manager.clone(),
        session: None,
    };
    let body = Bytes::from(serde_json::to_vec(&b).unwrap_or_default());
    // The console's checks: nothing is dispatched for an unknown or closed card, an
    // unknown team or agent, or a bad body.
    let checked = match api::check_action(&shared, &viewer, &p, &action, &body).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let (user, action) = match (writer, checked.action) {
        (Some(agent), AgentAction::Reply { text, .. }) => (
            User {
                id: agent.clone(),
                ..manager
            },
            AgentAction::Reply { agent, text },
        ),
        (_, other) => (manager, other),
    };
    match api::run_action(&shared, &user, &p, action).await {
        Ok(effects) => (
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"effects\":{effects}}}"),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// A contact's number in any common spelling, as storage keys it.
fn phone(shared: &Shared, text: &str) -> Result<Phone, Box<Response>> {
    console::phone::parse(text, shared.config.console.default_country_code.as_deref())
        .map_err(|e| Box::new((StatusCode::BAD_REQUEST, e.0).into_response()))
}

/// GET /admin/outbox/dead: the dead letters, oldest first.
pub(super) async fn dead_letters(State(shared): S, headers: HeaderMap) -> Response {
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
pub(super) async fn retry_one(
    State(shared): S,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return *r;
    }
    retry_dead(&shared, DeadLetterSelection::One(id)).await
}

/// POST /admin/outbox/retry: sends every dead letter again.
pub(super) async fn retry_all(State(shared): S, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return *r;
    }
    retry_dead(&shared, DeadLetterSelection::All).await
}
