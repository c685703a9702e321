//! Intake: what happens to a decoded webhook (or a sandbox message) once it is accepted.
//! The batch is stored durably in one write; only then are the new messages handed to the
//! shard that owns their contact, and new statuses applied to the outbox and the engine.
//!
//! **Invariant:** nothing acknowledged is orphaned. The write and the hand-off run in a
//! task of their own, not in the request: a client that hangs up after sending does not
//! stop the hand-off of what was committed. Behind that, [`sweep`] hands over every
//! message stored a while ago and still unprocessed (and not queued in a shard), and the
//! store refuses to process a message twice.
//!
//! **Backpressure:** while more than `max_backlog` stored messages wait for processing,
//! batches with messages are refused with 503 before anything is stored; WhatsApp
//! delivers them again later.

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
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A message is swept once it has been stored this long without being processed or
/// queued: its hand-off after the commit is long overdue.
const SWEEP_AFTER_MS: i64 = 2_000;

/// Most messages one sweep hands over.
const SWEEP_LIMIT: usize = 1_024;

/// The HTTP answer to an ingest: 200 once stored, 503 when storage refused the batch (so
/// WhatsApp delivers it again).
pub fn respond(result: Result<(), StoreError>) -> Response {
    match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Stores decoded items and dispatches the new ones, unless the backlog is over its bound.
/// Shared by the webhook and the sandbox. The work runs in its own task, so it completes
/// even when the caller's request is dropped.
pub async fn ingest(shared: &Arc<Shared>, items: Vec<Inbound>) -> Result<(), StoreError> {
    let limit = shared.config.max_backlog;
    if limit > 0
        && items.iter().any(|i| matches!(i, Inbound::Message(_)))
        && shared.metrics.backlog.load(Ordering::Relaxed)
            >= i64::try_from(limit).unwrap_or(i64::MAX)
    {
        Metrics::inc(&shared.metrics.webhooks_refused);
        return Err(StoreError::Unavailable(format!(
            "{limit} or more messages wait for processing (max_backlog); WhatsApp delivers this batch again"
        )));
    }
    let shared = shared.clone();
    tokio::spawn(async move { store_and_dispatch(&shared, items).await })
        .await
        .map_err(|e| StoreError::Unavailable(format!("the intake task failed: {e}")))?
}

async fn store_and_dispatch(shared: &Arc<Shared>, items: Vec<Inbound>) -> Result<(), StoreError> {
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
    shared.metrics.backlog.fetch_add(
        i64::try_from(result.new_messages.len()).unwrap_or(0),
        Ordering::Relaxed,
    );
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

/// Every second: sets the backlog gauges from storage and hands to the shards every
/// message stored more than [`SWEEP_AFTER_MS`] ago that is neither processed nor queued.
/// Over a database other instances share, their claims ([`super::store::Store::claim_inbound`])
/// do the handing over instead, and only the gauges are kept here.
pub async fn sweep(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let sweeps = !shared.db.store().shared();
    loop {
        let now = jiff::Timestamp::now().as_millisecond();
        if let Ok(b) = shared.db.run(|s| s.inbound_backlog()).await {
            let m = &shared.metrics;
            m.backlog.store(b.messages, Ordering::Relaxed);
            let age = b.oldest_ms.map_or(0, |o| (now - o).max(0));
            m.backlog_age_ms
                .store(u64::try_from(age).unwrap_or(0), Ordering::Relaxed);
        }
        if sweeps {
            let rows = shared
                .db
                .run(move |s| s.unprocessed_inbound(now - SWEEP_AFTER_MS, SWEEP_LIMIT))
                .await
                .unwrap_or_default();
            let mut handed = 0;
            for row in rows {
                if shared.is_queued(row.seq) {
                    continue;
                }
                match serde_json::from_str::<inbound::InMessage>(&row.payload) {
                    Ok(msg) => {
                        handed += 1;
                        shared.dispatch(Work::Inbound {
                            seq: row.seq,
                            contact: row.contact,
                            msg,
                        });
                    }
                    Err(e) => {
                        tracing::error!("stored inbound message {} is unreadable: {e}", row.seq)
                    }
                }
            }
            if handed > 0 {
                tracing::warn!(
                    "{handed} stored message(s) had not reached their conversation; handed over now"
                );
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
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
