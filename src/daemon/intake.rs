//! Intake: what happens to a decoded webhook (or a sandbox message) once it is accepted.
//! The batch is stored durably in one write; only then are the new messages handed to the
//! shard that owns their contact, and new statuses applied to the outbox and the engine.

use super::Shared;
use super::metrics::Metrics;
use super::store::{IngestBatch, NewInbound, NewStatus, StoreError};
use super::wire::inbound::{self, Inbound, StatusKind};
use super::worker::Work;
use crate::engine::DeliveryStatus;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// The HTTP answer to an ingest: 200 once stored, 503 when storage refused the batch (so
/// WhatsApp delivers it again).
pub fn respond(result: Result<(), StoreError>) -> Response {
    match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Stores decoded items and dispatches the new ones. Shared by the webhook and the sandbox.
pub async fn ingest(shared: &Arc<Shared>, items: Vec<Inbound>) -> Result<(), StoreError> {
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
            return Err(e);
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
        // A closed window (131047) reported here reaches the engine like any failure;
        // the engine sends the window template, as for the send's own answer.
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
    Ok(())
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
