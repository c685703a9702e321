//! The outbox sender: performs stored sends (Graph API) and webhook calls, once each,
//! in order per contact, with retries, backoff and jitter, a per-number send rate, and a
//! dead-letter state. A row is marked in flight before its request leaves and done after
//! the answer, so a crash can only repeat a request that was in flight — with the same
//! idempotency key.

use super::Shared;
use super::metrics::Metrics;
use super::store::OutboxRow;
use super::wire::outbound::{OutMessage as WireOut, Retry};
use super::worker::Work;
use crate::engine::{DeliveryStatus, WebhookResult};
use hmac::Mac;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Attempts for a WhatsApp send before it is dead-lettered.
const SEND_ATTEMPTS: i64 = 8;

/// How long to wait before attempt `attempts + 1`: exponential from `base_ms`, capped,
/// with jitter so many failing rows do not retry in lockstep.
pub fn backoff_ms(base_ms: i64, attempts: i64) -> i64 {
    let exp = base_ms.saturating_mul(1_i64 << attempts.clamp(0, 16));
    let capped = exp.min(15 * 60 * 1000);
    let jitter = rand::random_range(0..=capped / 4 + 1);
    capped + jitter
}

/// A token bucket: at most `rate` sends per second, bursts up to `rate`.
#[derive(Debug)]
pub struct RateLimit {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    pub fn new(rate: u32) -> RateLimit {
        RateLimit {
            rate: f64::from(rate.max(1)),
            state: Mutex::new((f64::from(rate.max(1)), Instant::now())),
        }
    }

    /// Waits until a send is allowed.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let Ok(mut s) = self.state.lock() else { return };
                let now = Instant::now();
                let refill = now.duration_since(s.1).as_secs_f64() * self.rate;
                s.0 = (s.0 + refill).min(self.rate);
                s.1 = now;
                if s.0 >= 1.0 {
                    s.0 -= 1.0;
                    return;
                }
                (1.0 - s.0) / self.rate
            };
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

/// Runs the sender until shutdown.
pub async fn run(shared: Arc<Shared>) {
    let busy: Arc<Mutex<HashSet<String>>> = Arc::new(Mutex::new(HashSet::new()));
    let concurrency = Arc::new(tokio::sync::Semaphore::new(64));
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let now = jiff::Timestamp::now().as_millisecond();
        let rows = shared
            .db
            .run(move |s| s.due_outbox(now, 512))
            .await
            .unwrap_or_default();
        if let Ok(depth) = shared.db.run(|s| s.outbox_depth()).await {
            shared
                .metrics
                .outbox_depth
                .store(depth.max(0) as u64, std::sync::atomic::Ordering::Relaxed);
        }
        let mut started = 0;
        for row in rows {
            {
                let Ok(mut b) = busy.lock() else { continue };
                if !b.insert(row.contact.clone()) {
                    continue;
                }
            }
            let Ok(permit) = concurrency.clone().acquire_owned().await else {
                break;
            };
            started += 1;
            let shared = shared.clone();
            let busy = busy.clone();
            tokio::spawn(async move {
                let contact = row.contact.clone();
                let span = tracing::info_span!("send", script = %shared.script().hash_short());
                tracing::Instrument::instrument(perform(&shared, row), span).await;
                if let Ok(mut b) = busy.lock() {
                    b.remove(&contact);
                }
                drop(permit);
                shared.outbox_notify.notify_one();
            });
        }
        let idle = if started == 0 {
            Duration::from_millis(250)
        } else {
            Duration::from_millis(20)
        };
        tokio::select! {
            _ = shared.outbox_notify.notified() => {}
            _ = tokio::time::sleep(idle) => {}
            _ = shutdown.changed() => {
                // Drain: wait for requests already in flight, then stop.
                let _ = concurrency.acquire_many(64).await;
                return;
            }
        }
    }
}

async fn perform(shared: &Arc<Shared>, row: OutboxRow) {
    let id = row.id;
    if !matches!(
        shared.db.run(move |s| s.outbox_inflight(id)).await,
        Ok(true)
    ) {
        return;
    }
    let payload: Value = serde_json::from_str(&row.payload).unwrap_or_default();
    match row.kind.as_str() {
        "whatsapp" => send_whatsapp(shared, &row, &payload).await,
        "webhook" => call_webhook(shared, &row, &payload).await,
        "ai" => ask_ai(shared, &row, &payload).await,
        other => {
            let msg = format!("unknown outbox kind `{other}`");
            let _ = shared.db.run(move |s| s.outbox_dead(id, &msg)).await;
        }
    }
}

async fn send_whatsapp(shared: &Arc<Shared>, row: &OutboxRow, payload: &Value) {
    let id = row.id;
    let to = payload
        .get("to")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let engine_id = payload
        .get("engine_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let message: Option<WireOut> = payload
        .get("message")
        .and_then(|m| serde_json::from_value(m.clone()).ok());
    let Some(wire) = message else {
        let _ = shared
            .db
            .run(move |s| s.outbox_dead(id, "unreadable message payload"))
            .await;
        return;
    };
    let body_text = serde_json::to_string(&wire).unwrap_or_default();
    pace(shared, &row.contact).await;
    shared.rate.acquire().await;
    let started = Instant::now();
    let result = shared
        .channel
        .send(shared, &to, &wire, &row.id.to_string())
        .await;
    let us = started.elapsed().as_micros() as u64;
    shared
        .metrics
        .send_latency_us_sum
        .fetch_add(us, std::sync::atomic::Ordering::Relaxed);
    Metrics::inc(&shared.metrics.send_latency_count);
    let contact = row.contact.clone();
    let now = jiff::Timestamp::now().as_millisecond();
    match result {
        Ok(wamid) => {
            shared
                .metrics
                .count("messages_out_total", &format!("type=\"{}\"", wire.kind()));
            let w = wamid.clone();
            let is_receipt = matches!(wire, WireOut::Read { .. });
            let _ = shared
                .db
                .run(move |s| {
                    s.outbox_done(id, w.as_deref())?;
                    if is_receipt {
                        return Ok(());
                    }
                    s.record_outbound(&contact, w.as_deref(), &body_text, now)
                })
                .await;
        }
        Err(SendError {
            code,
            message: err,
            retry,
        }) => {
            shared
                .metrics
                .count("send_failures_total", &format!("code=\"{code}\""));
            let attempts = row.attempts + 1;
            match retry {
                Retry::Yes if attempts < SEND_ATTEMPTS => {
                    Metrics::inc(&shared.metrics.retries);
                    // WhatsApp's pair-rate guidance: 4^X seconds per recipient.
                    let base = if code == 131056 { 1000 } else { 500 };
                    let next = now + backoff_ms(base, attempts);
                    let _ = shared.db.run(move |s| s.outbox_retry(id, next, &err)).await;
                }
                Retry::WindowClosed => {
                    let fallback = shared.script().program.window_template.clone();
                    let template =
                        fallback.and_then(|t| shared.script().program.templates.get(&t).cloned());
                    match (template, wire.needs_window()) {
                        (Some(t), true) => {
                            let new_payload = serde_json::json!({
                                "to": to,
                                "engine_id": engine_id,
                                "message": WireOut::Template { name: t.wa_name.clone(), lang: t.lang.clone(), params: Vec::new() },
                            })
                            .to_string();
                            let _ = shared
                                .db
                                .run(move |s| {
                                    s.outbox_replace(
                                        id,
                                        &new_payload,
                                        "window closed: sending the window template",
                                    )
                                })
                                .await;
                        }
                        _ => {
                            dead(shared, id, &err).await;
                            shared.feed_status(
                                &row.contact,
                                &engine_id,
                                DeliveryStatus::Failed { code: 131047 },
                                &format!("x{id}"),
                            );
                        }
                    }
                }
                _ => {
                    dead(shared, id, &err).await;
                    shared.feed_status(
                        &row.contact,
                        &engine_id,
                        DeliveryStatus::Failed {
                            code: u32::try_from(code).unwrap_or(0),
                        },
                        &format!("x{id}"),
                    );
                }
            }
        }
    }
}

/// Performs an AI request (its own timeout and retries, see `crate::ai`) and hands the
/// answer, or the failure, to the contact's conversation as an event. The row is done
/// either way: the engine decides what a failure means.
async fn ask_ai(shared: &Arc<Shared>, row: &OutboxRow, payload: &Value) {
    let id = row.id;
    let text = |k: &str| {
        payload
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let effect = crate::engine::EffectKind::AskAi {
        request_id: text("request_id"),
        ai: text("ai"),
        url: text("url"),
        model: text("model"),
        key_env: payload
            .get("key_env")
            .and_then(Value::as_str)
            .map(str::to_string),
        timeout_secs: payload
            .get("timeout_secs")
            .and_then(Value::as_i64)
            .unwrap_or(10),
        retries: payload
            .get("retries")
            .and_then(Value::as_u64)
            .map_or(0, |r| u32::try_from(r.min(10)).unwrap_or(0)),
        system: text("system"),
        user: text("user"),
        choices: Vec::new(),
    };
    let request = crate::ai::AiRequest::from_effect(&effect, |var| {
        shared
            .config
            .script_secrets
            .get(var)
            .map(|s| s.expose().to_string())
    });
    let result = match request {
        Some(req) => crate::ai::ask(&shared.http, &req).await,
        None => crate::engine::AiResult::Failed {
            reason: "not an AI request".into(),
        },
    };
    let ok = matches!(result, crate::engine::AiResult::Answered { .. });
    shared.metrics.count(
        "ai_requests_total",
        &format!(
            "ai=\"{}\",ok=\"{ok}\"",
            super::worker::prom_label(&text("ai"))
        ),
    );
    // The answer or the failure is recorded with the event, in the step's audit.
    let _ = shared.db.run(move |s| s.outbox_done(id, None)).await;
    shared.dispatch(Work::AiResult {
        contact: row.contact.clone(),
        request_id: text("request_id"),
        result,
    });
}

async fn dead(shared: &Arc<Shared>, id: i64, err: &str) {
    Metrics::inc(&shared.metrics.dead_letters);
    let err = err.to_string();
    let _ = shared.db.run(move |s| s.outbox_dead(id, &err)).await;
}

/// Waits until the contact's pace allows another message (`contact_pace_ms`). Sends to
/// one contact are already one at a time, so a next-allowed instant per contact suffices.
async fn pace(shared: &Shared, contact: &str) {
    let pace = Duration::from_millis(shared.config.contact_pace_ms);
    if pace.is_zero() {
        return;
    }
    let wait = {
        let Ok(mut next_at) = shared.last_sent.lock() else {
            return;
        };
        let now = Instant::now();
        let at = next_at.get(contact).copied().unwrap_or(now).max(now);
        next_at.insert(contact.to_string(), at + pace);
        if next_at.len() > 100_000 {
            next_at.retain(|_, t| *t > now);
        }
        at.saturating_duration_since(now)
    };
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

/// A failed send.
#[derive(Debug)]
pub struct SendError {
    pub code: i64,
    pub message: String,
    pub retry: Retry,
}

/// `X-Wafl-Signature: sha256=HEX(HMAC-SHA256(secret, "<timestamp>.<body>"))`.
pub fn webhook_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    match <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

async fn call_webhook(shared: &Arc<Shared>, row: &OutboxRow, payload: &Value) {
    let id = row.id;
    let name = payload
        .get("webhook")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let url = payload
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let call_id = payload
        .get("call_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let body = serde_json::to_vec(payload.get("body").unwrap_or(&Value::Null)).unwrap_or_default();
    let loaded = shared.script();
    let spec = loaded.program.webhooks.get(&name).cloned();
    let attempts_allowed = spec
        .as_ref()
        .map(|w| i64::from(w.attempts.max(1)))
        .unwrap_or(5);
    let backoff_base = spec
        .as_ref()
        .map(|w| w.backoff.max(1) * 1000)
        .unwrap_or(30_000);
    let timeout = spec
        .as_ref()
        .and_then(|w| w.timeout)
        .map(|t| Duration::from_secs(t.max(1) as u64))
        .or_else(|| {
            payload
                .get("timeout_secs")
                .and_then(Value::as_i64)
                .map(|t| Duration::from_secs(t.max(1) as u64))
        })
        .unwrap_or(Duration::from_millis(shared.config.http_timeout_ms));
    let secret = spec
        .as_ref()
        .and_then(|w| w.secret_env.as_ref())
        .and_then(|var| shared.config.script_secrets.get(var).cloned());
    let ts = jiff::Timestamp::now().as_second();
    let mut req = shared
        .http
        .post(&url)
        .timeout(timeout)
        .header("content-type", "application/json")
        .header("idempotency-key", &row.idem_key)
        .header("x-wafl-timestamp", ts.to_string())
        .header("x-wafl-script", loaded.hash_short());
    if let Some(secret) = &secret {
        req = req.header(
            "x-wafl-signature",
            webhook_signature(secret.expose().as_bytes(), ts, &body),
        );
    }
    let result = req.body(body).send().await;
    let now = jiff::Timestamp::now().as_millisecond();
    let outcome: Result<Value, (String, bool)> = match result {
        Ok(resp) if resp.status().is_success() => {
            let bytes = resp.bytes().await.unwrap_or_default();
            Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        }
        Ok(resp) => {
            let status = resp.status();
            // 4xx other than 408/429 will not get better by retrying.
            let retry =
                status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
            Err((format!("HTTP {status}"), retry))
        }
        Err(e) => Err((format!("request failed: {}", without_url(&e)), true)),
    };
    shared.metrics.count(
        "webhook_calls_total",
        &format!(
            "webhook=\"{}\",ok=\"{}\"",
            super::worker::prom_label(&name),
            outcome.is_ok()
        ),
    );
    match outcome {
        Ok(answer) => {
            let _ = shared.db.run(move |s| s.outbox_done(id, None)).await;
            if let Some(call_id) = call_id {
                shared.dispatch(Work::WebhookResult {
                    contact: row.contact.clone(),
                    call_id,
                    result: WebhookResult::Ok { body: answer },
                });
            }
        }
        Err((err, retry)) => {
            let attempts = row.attempts + 1;
            if retry && attempts < attempts_allowed && call_id.is_none() {
                Metrics::inc(&shared.metrics.retries);
                let next = now + backoff_ms(backoff_base, attempts - 1);
                let _ = shared.db.run(move |s| s.outbox_retry(id, next, &err)).await;
            } else {
                dead(shared, id, &err).await;
                tracing::warn!(webhook = %name, "webhook gave up after {attempts} attempt(s): {err}");
                if let Some(call_id) = call_id {
                    shared.dispatch(Work::WebhookResult {
                        contact: row.contact.clone(),
                        call_id,
                        result: WebhookResult::Failed { reason: err },
                    });
                }
            }
        }
    }
}

/// reqwest errors print the URL, which may carry a token; keep only the kind.
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        e.without_url_ref_string()
    }
}

trait WithoutUrl {
    fn without_url_ref_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref_string(&self) -> String {
        let mut s = self.to_string();
        if let Some(u) = self.url() {
            s = s.replace(u.as_str(), "<url>");
        }
        s
    }
}
