//! The outbox sender: performs stored sends (Graph API), webhook calls and AI requests,
//! strictly in order per contact. The store hands out only the head of each contact's
//! queue, so a contact's next request never leaves before the previous one is settled —
//! delivered, or finally failed — across retries, outages, restarts and concurrency. A
//! failing head delays only its own contact; different contacts go out in parallel
//! within the per-number rate limit.
//!
//! A failed attempt is retried with capped exponential backoff (at most
//! `max_backoff_ms`, 60 s) for the retry horizon (`retry_horizon_secs`, six hours by
//! default); only then it becomes a dead letter, visible in the admin API, the metrics
//! and the log, and resendable. An expired token (190) pauses the number's sending and
//! alerts instead of burning every queued reply.

pub mod item;

use super::Shared;
use super::metrics::Metrics;
use super::store::{OutboxRow, Settlement};
use super::wire::outbound::{OutMessage as WireOut, Retry};
use super::worker::Work;
use crate::engine::{DeliveryStatus, WebhookResult};
use item::OutboxItem;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many requests may be in flight at once (over all contacts).
const CONCURRENCY: usize = 64;

/// How long to wait before the attempt after `attempts` failed ones: exponential from
/// `base_ms`, capped at `cap_ms`, with jitter below the cap so many failing rows do not
/// retry in lockstep.
pub fn backoff_ms(base_ms: i64, attempts: i64, cap_ms: i64) -> i64 {
    let exp = base_ms.saturating_mul(1_i64 << attempts.clamp(0, 30));
    let capped = exp.min(cap_ms).max(1);
    let jitter = rand::random_range(0..=capped / 4);
    (capped - capped / 8 + jitter).min(cap_ms).max(1)
}

/// What to do with a failed attempt that may be retried: retry at the returned instant,
/// or give up (`None`) when the next attempt would fall beyond the retry horizon.
fn next_attempt(shared: &Shared, row: &OutboxRow, base_ms: i64, now: i64) -> Option<i64> {
    let next = now + backoff_ms(base_ms, row.attempts - 1, shared.config.max_backoff_ms);
    (next - row.created_ms <= shared.config.retry_horizon_ms).then_some(next)
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
    let concurrency = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut shutdown = shared.shutdown.subscribe();
    let mut counted = Instant::now() - Duration::from_secs(10);
    loop {
        let now = jiff::Timestamp::now().as_millisecond();
        let paused_until = shared.send_paused_until.load(Ordering::Relaxed);
        let free = concurrency.available_permits();
        let rows = if now < paused_until || free == 0 {
            Vec::new()
        } else {
            match shared.db.run(move |s| s.claim_outbox(now, free)).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!("cannot claim outbox rows: {e}");
                    Vec::new()
                }
            }
        };
        if counted.elapsed() >= Duration::from_secs(1) {
            counted = Instant::now();
            if let Ok(c) = shared.db.run(|s| s.outbox_counts()).await {
                let m = &shared.metrics;
                m.outbox_depth.store(
                    u64::try_from(c.pending + c.inflight).unwrap_or(0),
                    Ordering::Relaxed,
                );
                m.outbox_dead
                    .store(u64::try_from(c.dead).unwrap_or(0), Ordering::Relaxed);
            }
        }
        let started = rows.len();
        for row in rows {
            let Ok(permit) = concurrency.clone().acquire_owned().await else {
                return;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let span = tracing::info_span!("send", script = %shared.script().hash_short());
                tracing::Instrument::instrument(perform(&shared, row), span).await;
                drop(permit);
                shared.outbox_notify.notify_one();
            });
        }
        let idle = if now < paused_until {
            Duration::from_millis(u64::try_from(paused_until - now).unwrap_or(1000).min(1000))
        } else if started == 0 {
            Duration::from_millis(250)
        } else {
            Duration::from_millis(20)
        };
        tokio::select! {
            _ = shared.outbox_notify.notified() => {}
            _ = tokio::time::sleep(idle) => {}
            _ = shutdown.changed() => {
                // Drain: wait for requests already in flight, then stop.
                let _ = concurrency.acquire_many(CONCURRENCY as u32).await;
                return;
            }
        }
    }
}

async fn perform(shared: &Arc<Shared>, row: OutboxRow) {
    match row.item.clone() {
        OutboxItem::Whatsapp {
            to,
            engine_id,
            message,
        } => send_whatsapp(shared, &row, &to, &engine_id, message).await,
        OutboxItem::Webhook {
            webhook,
            url,
            body,
            call_id,
            timeout_secs,
        } => call_webhook(shared, &row, &webhook, &url, &body, call_id, timeout_secs).await,
        OutboxItem::Ai { .. } => ask_ai(shared, &row).await,
    }
}

async fn settle(shared: &Shared, id: i64, settlement: Settlement) {
    let now = jiff::Timestamp::now().as_millisecond();
    if let Err(e) = shared
        .db
        .run(move |s| s.settle_outbox(id, settlement, now))
        .await
    {
        // The row stays in flight; a restart sends it again with its idempotency key.
        tracing::error!("cannot settle outbox row {id}: {e}");
    }
}

/// Gives up on a row: a dead letter, counted and logged, resendable.
async fn dead(shared: &Shared, row: &OutboxRow, error: &str, history: Option<String>) {
    Metrics::inc(&shared.metrics.dead_letters);
    tracing::warn!(
        outbox_id = row.id,
        kind = row.item.kind().as_str(),
        attempts = row.attempts,
        "dead letter: {error}; resend it with `POST /admin/outbox/{}/retry` or `wafl outbox retry {}`",
        row.id,
        row.id
    );
    settle(
        shared,
        row.id,
        Settlement::Dead {
            error: error.to_string(),
            history,
        },
    )
    .await;
}

async fn send_whatsapp(
    shared: &Arc<Shared>,
    row: &OutboxRow,
    to: &str,
    engine_id: &str,
    wire: WireOut,
) {
    let id = row.id;
    let body_text = serde_json::to_string(&wire).unwrap_or_default();
    pace(shared, &row.contact).await;
    shared.rate.acquire().await;
    let started = Instant::now();
    let result = shared
        .channel
        .send(shared, to, &wire, &row.id.to_string())
        .await;
    let us = started.elapsed().as_micros() as u64;
    shared
        .metrics
        .send_latency_us_sum
        .fetch_add(us, Ordering::Relaxed);
    Metrics::inc(&shared.metrics.send_latency_count);
    let now = jiff::Timestamp::now().as_millisecond();
    let is_receipt = matches!(wire, WireOut::Read { .. });
    match result {
        Ok(wamid) => {
            shared
                .metrics
                .count("messages_out_total", &format!("type=\"{}\"", wire.kind()));
            if shared.send_paused_until.swap(0, Ordering::Relaxed) != 0 {
                tracing::info!("sending works again: the pause of the number is over");
            }
            settle(
                shared,
                id,
                Settlement::Done {
                    wamid,
                    history: (!is_receipt).then_some(body_text),
                },
            )
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
            let unsent = || {
                (!is_receipt).then(|| {
                    serde_json::json!({ "reason": err, "code": code, "message": wire }).to_string()
                })
            };
            match retry {
                Retry::Paused => {
                    // Every send of the number fails the same way: pause them all, alert,
                    // and try this head again after the longest backoff.
                    let until = now + shared.config.max_backoff_ms;
                    if shared.send_paused_until.swap(until, Ordering::Relaxed) == 0 {
                        tracing::error!(
                            code,
                            "ALERT: the WhatsApp access token was refused ({err}); sending is paused for the number until it works again — renew WAFL_ACCESS_TOKEN and restart"
                        );
                    }
                    Metrics::inc(&shared.metrics.send_pauses);
                    settle(
                        shared,
                        id,
                        Settlement::Retry {
                            next_ms: until,
                            error: err,
                        },
                    )
                    .await;
                }
                Retry::Yes => {
                    // WhatsApp's pair-rate guidance: back off harder on 131056.
                    let base = if code == 131056 { 1000 } else { 500 };
                    match next_attempt(shared, row, base, now) {
                        Some(next) => {
                            Metrics::inc(&shared.metrics.retries);
                            settle(
                                shared,
                                id,
                                Settlement::Retry {
                                    next_ms: next,
                                    error: err,
                                },
                            )
                            .await;
                        }
                        None => {
                            let why = format!("{err} (gave up after {} attempts)", row.attempts);
                            dead(shared, row, &why, unsent()).await;
                            shared.feed_status(
                                &row.contact,
                                engine_id,
                                DeliveryStatus::Failed {
                                    code: u32::try_from(code).unwrap_or(0),
                                },
                                &format!("x{id}"),
                            );
                        }
                    }
                }
                // The engine decides what a closed window means (the window template,
                // once, with its parameters from the card): it hears of it as a status.
                Retry::WindowClosed => {
                    let why = format!("{err}; the 24-hour window is closed");
                    dead(shared, row, &why, unsent()).await;
                    shared.feed_status(
                        &row.contact,
                        engine_id,
                        DeliveryStatus::Failed {
                            code: crate::engine::WINDOW_CLOSED,
                        },
                        &format!("x{id}"),
                    );
                }
                Retry::No => {
                    dead(shared, row, &err, unsent()).await;
                    shared.feed_status(
                        &row.contact,
                        engine_id,
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
async fn ask_ai(shared: &Arc<Shared>, row: &OutboxRow) {
    let OutboxItem::Ai {
        request_id,
        ai,
        url,
        model,
        key_env,
        timeout_secs,
        retries,
        system,
        user,
        ..
    } = row.item.clone()
    else {
        return;
    };
    let effect = crate::engine::EffectKind::AskAi {
        request_id: request_id.clone(),
        ai: ai.clone(),
        url,
        model,
        key_env,
        timeout_secs,
        retries: retries.min(10),
        system,
        user,
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
        &format!("ai=\"{}\",ok=\"{ok}\"", super::worker::prom_label(&ai)),
    );
    // The answer or the failure is recorded with the event, in the step's audit.
    settle(
        shared,
        row.id,
        Settlement::Done {
            wamid: None,
            history: None,
        },
    )
    .await;
    shared.dispatch(Work::AiResult {
        contact: row.contact.clone(),
        request_id,
        result,
    });
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

#[allow(clippy::too_many_arguments)]
async fn call_webhook(
    shared: &Arc<Shared>,
    row: &OutboxRow,
    name: &str,
    url: &str,
    body: &serde_json::Value,
    call_id: Option<String>,
    timeout_secs: Option<i64>,
) {
    let body = serde_json::to_vec(body).unwrap_or_default();
    let loaded = shared.script();
    let spec = loaded.program.webhooks.get(name).cloned();
    let attempts_allowed = spec.as_ref().map(|w| i64::from(w.attempts.max(1)));
    let backoff_base = spec
        .as_ref()
        .map(|w| w.backoff.max(1) * 1000)
        .unwrap_or(1000);
    let timeout = spec
        .as_ref()
        .and_then(|w| w.timeout)
        .or(timeout_secs)
        .map(|t| Duration::from_secs(t.max(1) as u64))
        .unwrap_or(Duration::from_millis(shared.config.http_timeout_ms));
    let secret = spec
        .as_ref()
        .and_then(|w| w.secret_env.as_ref())
        .and_then(|var| shared.config.script_secrets.get(var).cloned());
    let outcome = shared
        .channel
        .call_webhook(
            shared,
            super::channel::WebhookRequest {
                name,
                url,
                body: &body,
                idem_key: &row.idem_key,
                script: loaded.hash_short(),
                secret: secret.as_ref().map(|s| s.expose().as_bytes()),
                timeout,
                is_call: call_id.is_some(),
            },
        )
        .await;
    let now = jiff::Timestamp::now().as_millisecond();
    shared.metrics.count(
        "webhook_calls_total",
        &format!(
            "webhook=\"{}\",ok=\"{}\"",
            super::worker::prom_label(name),
            outcome.is_ok()
        ),
    );
    match outcome {
        Ok(answer) => {
            settle(
                shared,
                row.id,
                Settlement::Done {
                    wamid: None,
                    history: None,
                },
            )
            .await;
            if let Some(call_id) = call_id {
                shared.dispatch(Work::WebhookResult {
                    contact: row.contact.clone(),
                    call_id,
                    result: WebhookResult::Ok { body: answer },
                });
            }
        }
        Err((err, retry)) => {
            let within_attempts = attempts_allowed.is_none_or(|a| row.attempts < a);
            let next = (retry && within_attempts && call_id.is_none())
                .then(|| next_attempt(shared, row, backoff_base, now))
                .flatten();
            match next {
                Some(next) => {
                    Metrics::inc(&shared.metrics.retries);
                    settle(
                        shared,
                        row.id,
                        Settlement::Retry {
                            next_ms: next,
                            error: err,
                        },
                    )
                    .await;
                }
                None => {
                    let why = format!("{err} (gave up after {} attempt(s))", row.attempts);
                    dead(shared, row, &why, None).await;
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
}
