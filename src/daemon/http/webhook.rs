//! `GET /webhook` (the verification handshake) and `POST /webhook` (signed deliveries).

use super::S;
use crate::daemon::Shared;
use crate::daemon::intake;
use crate::daemon::metrics::Metrics;
use crate::daemon::store::IngestBatch;
use crate::daemon::wire::inbound;
use crate::daemon::wire::sign::constant_time_eq;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// GET /webhook: `hub.mode=subscribe` with the right `hub.verify_token` echoes the challenge.
pub(super) async fn verify(State(shared): S, Query(q): Query<HashMap<String, String>>) -> Response {
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
pub(super) async fn receive(State(shared): S, headers: HeaderMap, body: Bytes) -> Response {
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
    intake::respond(intake::ingest(&shared, items).await)
}
