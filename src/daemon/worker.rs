//! Conversation workers: every event of a contact goes to the same shard, so one
//! contact's events run in order, one at a time, while different contacts run in
//! parallel on different shards. A shard runs the engine step, then hands the new state
//! and the effects to storage in one atomic write.

use super::Shared;
use super::metrics::Metrics;
use super::outbox::item::OutboxItem;
use super::store::persisted::ConversationBody;
use super::store::{FlowToken, NewHistory, NewOutbox, StepWrite, TimerRow};
use super::wire::inbound::{Content, InMessage, MediaType as WireMedia};
use super::wire::outbound::OutMessage as WireOut;
use crate::engine::{
    self, AgentAction, Contact, DeliveryStatus, EffectKind, Event, Inbound, InboundMessage,
    MediaType, OutMessage, State, WebhookResult,
};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Number of shards. Contacts are spread over them by hash; each shard pipelines its
/// writes, so the count bounds parallelism of engine work, not of storage.
pub const SHARDS: usize = 64;

/// Work for a shard.
#[derive(Debug)]
pub enum Work {
    Inbound {
        seq: i64,
        contact: String,
        msg: InMessage,
    },
    Timer {
        contact: String,
        id: String,
        db_id: String,
        due_ms: i64,
    },
    Status {
        contact: String,
        message_id: String,
        status: DeliveryStatus,
        key: String,
    },
    Agent {
        contact: String,
        /// Who acts: an agent's e-mail or `manager`; kept in the audit row.
        actor: String,
        action: AgentAction,
        reply: oneshot::Sender<Result<String, String>>,
    },
    WebhookResult {
        contact: String,
        call_id: String,
        result: WebhookResult,
    },
    /// The answer of an external model to an AI step.
    AiResult {
        contact: String,
        request_id: String,
        result: engine::AiResult,
    },
}

impl Work {
    /// A copy to run again when another instance changed the conversation first; `None`
    /// for an agent's action, whose caller is answered instead.
    fn retry_copy(&self) -> Option<Work> {
        Some(match self {
            Work::Inbound { seq, contact, msg } => Work::Inbound {
                seq: *seq,
                contact: contact.clone(),
                msg: msg.clone(),
            },
            Work::Timer {
                contact,
                id,
                db_id,
                due_ms,
            } => Work::Timer {
                contact: contact.clone(),
                id: id.clone(),
                db_id: db_id.clone(),
                due_ms: *due_ms,
            },
            Work::Status {
                contact,
                message_id,
                status,
                key,
            } => Work::Status {
                contact: contact.clone(),
                message_id: message_id.clone(),
                status: status.clone(),
                key: key.clone(),
            },
            Work::Agent { .. } => return None,
            Work::WebhookResult {
                contact,
                call_id,
                result,
            } => Work::WebhookResult {
                contact: contact.clone(),
                call_id: call_id.clone(),
                result: result.clone(),
            },
            Work::AiResult {
                contact,
                request_id,
                result,
            } => Work::AiResult {
                contact: contact.clone(),
                request_id: request_id.clone(),
                result: result.clone(),
            },
        })
    }

    fn contact(&self) -> &str {
        match self {
            Work::Inbound { contact, .. }
            | Work::Timer { contact, .. }
            | Work::Status { contact, .. }
            | Work::Agent { contact, .. }
            | Work::WebhookResult { contact, .. }
            | Work::AiResult { contact, .. } => contact,
        }
    }
}

/// Which shard owns a contact.
pub fn shard_of(contact: &str) -> usize {
    // FNV-1a: stable across runs and platforms.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in contact.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    (h % SHARDS as u64) as usize
}

pub fn spawn_shards() -> (
    Vec<mpsc::UnboundedSender<Work>>,
    Vec<mpsc::UnboundedReceiver<Work>>,
) {
    (0..SHARDS).map(|_| mpsc::unbounded_channel()).unzip()
}

/// Runs one shard until its channel closes.
pub async fn run_shard(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Work>) {
    // Cached states hold handler positions of the program they were made with: after a
    // reload they are read again from storage, which names handlers stably.
    let mut cache: HashMap<String, (String, State)> = HashMap::new();
    // Over a database other instances write too, a cached state may be stale: read it
    // before every step.
    let use_cache = !shared.db.store().shared();
    while let Some(work) = rx.recv().await {
        let contact = work.contact().to_string();
        let inbound_seq = match &work {
            Work::Inbound { seq, .. } => Some(*seq),
            _ => None,
        };
        let mut work = Some(work);
        // Another instance may change the conversation between our read and our commit;
        // the store then refuses the step whole, and it runs again on the new state.
        for attempt in 0..MAX_CONFLICT_RETRIES {
            let Some(w) = work.take() else { break };
            // Alone on its database, the only conflict is a message some earlier step
            // already consumed (handed over twice): nothing to run again.
            let again = if attempt + 1 < MAX_CONFLICT_RETRIES && !use_cache {
                w.retry_copy()
            } else {
                None
            };
            let loaded = shared.script();
            let state = match cache.remove(&contact) {
                Some((hash, s)) if hash == loaded.hash => s,
                _ => load_state(&shared, &loaded, &contact).await,
            };
            // Every log line of a step names the script version that ran it.
            let span = tracing::info_span!("step", script = %loaded.hash_short());
            let hash = loaded.hash.clone();
            match tracing::Instrument::instrument(process(&shared, loaded, state, w), span).await {
                Stepped::Stored(new_state) => {
                    if use_cache {
                        cache.insert(contact.clone(), (hash, *new_state));
                    }
                }
                Stepped::Conflict => work = again,
                Stepped::Failed => {}
            }
        }
        if let Some(seq) = inbound_seq {
            shared.unqueue(seq);
        }
        // A bounded cache: memory does not grow with the number of contacts.
        while cache.len() > CACHED_STATES_PER_SHARD {
            let Some(evicted) = cache.keys().next().cloned() else {
                break;
            };
            cache.remove(&evicted);
        }
    }
}

/// Most conversation states a shard keeps in memory between steps (an arbitrary one
/// leaves when a new one comes): 64 shards keep at most 65,536, whatever the number of
/// contacts; the others are read from storage at their next event.
pub const CACHED_STATES_PER_SHARD: usize = 1_024;

/// How many times a step refused for a conflict with another instance runs again
/// before it is left to that instance (or, for an inbound message, to whichever instance
/// claims it next).
const MAX_CONFLICT_RETRIES: usize = 3;

/// How a step ended.
enum Stepped {
    /// Stored; the new state.
    Stored(Box<State>),
    /// Refused because another instance changed the conversation (or consumed the
    /// message) first; nothing was stored.
    Conflict,
    /// Storage failed; nothing was stored.
    Failed,
}

async fn load_state(shared: &Shared, loaded: &super::Loaded, contact: &str) -> State {
    let c = contact.to_string();
    let fresh = || State::new(Contact::new(phone_of(contact)));
    match shared.db.run(move |s| s.conversation(&c)).await {
        Ok(Some(stored)) => {
            match stored.body.decode(&loaded.program) {
                Ok(state) => state,
                Err(e) => {
                    // Reloads refuse scripts that would strand a waiting card, so this
                    // only happens after a start with such a script: the card stops
                    // waiting instead of resuming in the wrong code.
                    tracing::error!(contact = %redact(contact), "stored state cannot resume: {e}; the card stops waiting");
                    let mut body = stored.body.clone();
                    if let Some(card) = body.state.get_mut("card").and_then(|c| c.as_object_mut()) {
                        card.insert("suspended".into(), serde_json::Value::Null);
                    }
                    body.decode(&loaded.program).unwrap_or_else(|_| fresh())
                }
            }
        }
        Ok(None) => fresh(),
        Err(e) => {
            tracing::error!(contact = %redact(contact), "stored state unreadable, starting fresh: {e}");
            fresh()
        }
    }
}

/// The persisted body of a state: handlers by name, with the program hash.
fn body_of(loaded: &super::Loaded, state: &State) -> ConversationBody {
    ConversationBody::encode(state, &loaded.program, &loaded.hash).unwrap_or_else(|e| {
        tracing::error!("cannot name the handlers of a state ({e}); storing it by position");
        ConversationBody {
            version: 1,
            program: loaded.hash.clone(),
            state: serde_json::to_value(state).unwrap_or_default(),
        }
    })
}

/// WhatsApp ids are digits without `+`; the engine and the Graph API want E.164.
pub fn phone_of(contact: &str) -> String {
    if contact.chars().all(|c| c.is_ascii_digit()) && !contact.is_empty() {
        format!("+{contact}")
    } else {
        contact.to_string()
    }
}

/// Logs show only the last four digits of a number.
pub fn redact(contact: &str) -> String {
    let n = contact.chars().count();
    let tail: String = contact.chars().skip(n.saturating_sub(4)).collect();
    format!("…{tail}")
}

/// Converts an inbound WhatsApp message into the engine's terms; `None` for messages
/// that are recorded but do not drive the conversation (reactions), and for form
/// submissions, which go through [`submission`].
pub fn to_engine(msg: &InMessage) -> Option<Inbound> {
    let message = match &msg.content {
        Content::Text(t) => InboundMessage::Text(t.clone()),
        Content::ButtonReply { title, .. } => InboundMessage::Button(title.clone()),
        Content::TemplateButton { text, .. } => InboundMessage::Button(text.clone()),
        Content::ListReply { title, .. } => InboundMessage::ListChoice(title.clone()),
        Content::Media { kind, caption, .. } => InboundMessage::Media {
            kind: match kind {
                WireMedia::Image => MediaType::Image,
                WireMedia::Video => MediaType::Video,
                WireMedia::Audio => MediaType::Audio,
                WireMedia::Document => MediaType::Document,
                WireMedia::Sticker => MediaType::Sticker,
            },
            caption: caption.clone(),
        },
        Content::Location { .. } => InboundMessage::Media {
            kind: MediaType::Location,
            caption: None,
        },
        Content::Contacts { .. } => InboundMessage::Media {
            kind: MediaType::Contacts,
            caption: None,
        },
        // Form submissions are checked against their token first (`submission`).
        Content::FlowReply { .. } => return None,
        Content::Reaction { .. } => return None,
        Content::Unsupported { .. } | Content::Other { .. } => InboundMessage::Media {
            kind: MediaType::Other,
            caption: None,
        },
    };
    Some(Inbound {
        profile_name: msg.profile_name.clone(),
        message,
    })
}

/// A form submission (`nfm_reply`): checks the token and the values, and either returns
/// the engine's event (marking the token used in this step's write) or records the
/// refusal. Values that break the rules leave the token unused, so the customer can
/// open the form again; they reach the engine as a refusal, which answers with the
/// fields' `invalid` messages exactly as `wafl test` and the REPL do.
async fn submission(
    shared: &Arc<Shared>,
    program: &crate::compile::Program,
    write: &mut StepWrite,
    msg: &InMessage,
    response_json: &str,
    now: jiff::Timestamp,
) -> Option<Event> {
    let response: serde_json::Value = serde_json::from_str(response_json).unwrap_or_default();
    let token = super::flows::token_of(&response).unwrap_or("").to_string();
    let issued = if token.is_empty() {
        None
    } else {
        shared
            .db
            .run(move |s| s.flow_token(&token))
            .await
            .ok()
            .flatten()
    };
    let today = program.timezone.to_datetime(now).date();
    let verdict = super::flows::judge(
        program,
        issued.as_ref(),
        &msg.from,
        &response,
        now.as_millisecond(),
        shared.config.flows_token_ttl_ms,
        today,
    );
    match verdict {
        Ok(accepted) => {
            write.token_used = Some(accepted.token);
            Some(Event::Inbound(Inbound {
                profile_name: msg.profile_name.clone(),
                message: InboundMessage::Form {
                    form: accepted.form,
                    values: accepted.values,
                },
            }))
        }
        Err(refusal) => {
            tracing::warn!(contact = %redact(&msg.from), reason = refusal.reason(), "form submission refused");
            write.rejected.push(super::flows::refusal_record(
                &shared.metrics,
                &refusal,
                &msg.from,
                &response,
            ));
            match (refusal, issued) {
                (super::flows::Refusal::Invalid(fields), Some(token)) => Some(Event::FormRefused {
                    form: token.form,
                    fields,
                }),
                _ => None,
            }
        }
    }
}

/// Runs one piece of work through the engine and stores the result. Returns the new
/// state to cache, or why nothing was stored.
async fn process(
    shared: &Arc<Shared>,
    loaded: Arc<super::Loaded>,
    state: State,
    work: Work,
) -> Stepped {
    let now = jiff::Timestamp::now();
    let contact = work.contact().to_string();
    let mut write = StepWrite::new(&contact, body_of(&loaded, &state), &loaded.hash);
    let mut agent_reply = None;
    let (event, key) = match work {
        Work::Inbound { seq, msg, .. } => {
            write.inbound_seq = Some(seq);
            if shared.config.mark_read {
                // The receipt goes through the outbox like any send, ahead of the reply.
                write.outbox.push(NewOutbox {
                    contact: contact.clone(),
                    item: OutboxItem::Whatsapp {
                        to: phone_of(&contact),
                        engine_id: String::new(),
                        message: WireOut::Read {
                            message_id: msg.id.clone(),
                        },
                    },
                    idem_key: format!("{contact}:in{seq}:read"),
                });
            }
            let event = match &msg.content {
                Content::FlowReply { response_json } => {
                    submission(
                        shared,
                        &loaded.program,
                        &mut write,
                        &msg,
                        response_json,
                        now,
                    )
                    .await
                }
                _ => to_engine(&msg).map(Event::Inbound),
            };
            (event, format!("in{seq}"))
        }
        Work::Timer {
            id, db_id, due_ms, ..
        } => {
            write.timer_done = Some((db_id, due_ms));
            let lag = (now.as_millisecond() - due_ms).max(0);
            shared
                .metrics
                .timer_lag_ms
                .store(lag as u64, std::sync::atomic::Ordering::Relaxed);
            (Some(Event::Timer { id }), format!("t{due_ms}"))
        }
        Work::Status {
            message_id,
            status,
            key,
            ..
        } => (Some(Event::Status { message_id, status }), key),
        Work::Agent {
            action,
            reply,
            actor,
            ..
        } => {
            agent_reply = Some(reply);
            write.actor = Some(actor);
            (
                Some(Event::Agent(action)),
                format!("a{}", rand::random::<u64>()),
            )
        }
        Work::WebhookResult {
            call_id, result, ..
        } => {
            let key = format!("r{call_id}");
            (Some(Event::WebhookResult { call_id, result }), key)
        }
        Work::AiResult {
            request_id, result, ..
        } => {
            let key = format!("ai{request_id}");
            (Some(Event::AiResult { request_id, result }), key)
        }
    };
    let (new_state, effects) = match &event {
        Some(ev) => {
            let program = &loaded.program;
            let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine::step(program, &state, ev, now)
            }));
            match stepped {
                Ok(outcome) => (outcome.state, outcome.effects),
                Err(_) => {
                    Metrics::inc(&shared.metrics.engine_panics);
                    tracing::error!(contact = %redact(&contact), "the engine failed on this event; it is recorded and skipped");
                    write.audit_event = serde_json::to_string(ev).unwrap_or_default();
                    write.audit_effects = "\"engine panic\"".into();
                    write.conversation = body_of(&loaded, &state);
                    let _ = shared
                        .db
                        .run(move |s| s.apply_step(write, now.as_millisecond()))
                        .await;
                    if let Some(r) = agent_reply {
                        let _ = r.send(Err("the engine failed on this action".into()));
                    }
                    return Stepped::Stored(Box::new(state));
                }
            }
        }
        None => (state.clone(), Vec::new()),
    };
    Metrics::inc(&shared.metrics.engine_steps);
    for (i, effect) in effects.iter().enumerate() {
        let idem_key = format!("{contact}:{key}:{i}");
        match &effect.kind {
            EffectKind::Send { id, message } => write.outbox.push(NewOutbox {
                contact: contact.clone(),
                item: {
                    let mut wire = to_wire(message, "");
                    if let (OutMessage::Form { form, .. }, WireOut::Flow { token, screen, .. }) =
                        (message, &mut wire)
                    {
                        // A fresh token per send, bound to the contact, form and card.
                        *token = super::flows::new_token();
                        *screen = loaded
                            .program
                            .forms
                            .get(form)
                            .and_then(|f| f.screens.first().cloned())
                            .unwrap_or_default();
                        write.tokens_issued.push(FlowToken {
                            token: token.clone(),
                            contact: contact.clone(),
                            form: form.clone(),
                            card_id: new_state
                                .card
                                .as_ref()
                                .map_or(0, |c| i64::try_from(c.id).unwrap_or(i64::MAX)),
                            issued_ms: now.as_millisecond(),
                            used_ms: None,
                        });
                    }
                    OutboxItem::Whatsapp {
                        to: new_state.contact.phone.clone(),
                        engine_id: id.clone(),
                        message: wire,
                    }
                },
                idem_key,
            }),
            EffectKind::SendFailed { reason, message } => {
                write.history.push(NewHistory {
                    direction: "out-failed".into(),
                    body: json!({ "reason": reason, "message": message }).to_string(),
                });
                shared.metrics.count(
                    "send_failures_total",
                    &format!("reason=\"{}\"", prom_label(reason)),
                );
            }
            EffectKind::Post { webhook, url, body } => write.outbox.push(NewOutbox {
                contact: contact.clone(),
                item: OutboxItem::Webhook {
                    webhook: webhook.clone(),
                    url: url.clone(),
                    body: body.clone(),
                    call_id: None,
                    timeout_secs: None,
                },
                idem_key,
            }),
            EffectKind::Call {
                call_id,
                webhook,
                url,
                body,
                timeout_secs,
            } => write.outbox.push(NewOutbox {
                contact: contact.clone(),
                item: OutboxItem::Webhook {
                    webhook: webhook.clone(),
                    url: url.clone(),
                    body: body.clone(),
                    call_id: Some(call_id.clone()),
                    timeout_secs: Some(*timeout_secs),
                },
                idem_key,
            }),
            // The request, prompt included, is kept in the outbox row and in the audit of
            // this step; the raw answer comes back as an `AiResult` event, audited too.
            EffectKind::AskAi {
                request_id,
                ai,
                url,
                model,
                key_env,
                timeout_secs,
                retries,
                system,
                user,
                choices,
            } => write.outbox.push(NewOutbox {
                contact: contact.clone(),
                item: OutboxItem::Ai {
                    request_id: request_id.clone(),
                    ai: ai.clone(),
                    url: url.clone(),
                    model: model.clone(),
                    key_env: key_env.clone(),
                    timeout_secs: *timeout_secs,
                    retries: *retries,
                    system: system.clone(),
                    user: user.clone(),
                    choices: choices.clone(),
                },
                idem_key,
            }),
            EffectKind::StartTimer { id, at } => write.timers_set.push(TimerRow {
                id: format!("{contact}|{id}"),
                contact: contact.clone(),
                due_ms: at.as_millisecond(),
                timer: id.clone(),
            }),
            EffectKind::CancelTimer { id } => {
                write.timers_cancelled.push(format!("{contact}|{id}"))
            }
            EffectKind::StageChanged { from, to } => {
                shared.metrics.count(
                    "stage_exits_total",
                    &format!("stage=\"{}\"", prom_label(from)),
                );
                shared.metrics.count(
                    "stage_entries_total",
                    &format!("stage=\"{}\"", prom_label(to)),
                );
            }
            EffectKind::Metric { name, .. } => {
                shared.metrics.count(
                    "engine_metric_total",
                    &format!("name=\"{}\"", prom_label(name)),
                );
            }
            EffectKind::Error { message } => {
                tracing::warn!(contact = %redact(&contact), script = %loaded.hash_short(), "engine error: {message}");
            }
            _ => {}
        }
    }
    write.stage = new_state.card.as_ref().map(|c| c.stage.clone());
    write.conversation = body_of(&loaded, &new_state);
    write.audit_event = event
        .as_ref()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .unwrap_or_else(|| "null".into());
    write.audit_effects = serde_json::to_string(&effects).unwrap_or_default();
    let consumes_inbound = write.inbound_seq.is_some();
    let has_outbox = !write.outbox.is_empty();
    let has_timers = !write.timers_set.is_empty();
    let result = shared
        .db
        .run(move |s| s.apply_step(write, now.as_millisecond()))
        .await;
    match result {
        Ok(_) => {
            if consumes_inbound {
                shared
                    .metrics
                    .backlog
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
            if has_outbox {
                shared.outbox_notify.notify_one();
            }
            // A new timer may be due before the scheduler's next look.
            if has_timers {
                shared.timer_notify.notify_one();
            }
            if let Some(r) = agent_reply {
                let summary = serde_json::to_string(&effects).unwrap_or_default();
                let _ = r.send(Ok(summary));
            }
            Stepped::Stored(Box::new(new_state))
        }
        Err(super::store::StoreError::Conflict(why)) => {
            tracing::debug!(contact = %redact(&contact), "step not stored, another instance was first: {why}");
            if let Some(r) = agent_reply {
                let _ = r.send(Err(format!(
                    "the conversation changed meanwhile; try again ({why})"
                )));
            }
            Stepped::Conflict
        }
        Err(e) => {
            tracing::error!(contact = %redact(&contact), "could not store an engine step; it will run again after a restart: {e}");
            if let Some(r) = agent_reply {
                let _ = r.send(Err(e.to_string()));
            }
            Stepped::Failed
        }
    }
}

/// Maps the engine's message to the wire message.
pub fn to_wire(message: &OutMessage, token: &str) -> WireOut {
    match message {
        OutMessage::Text { body } => WireOut::Text { body: body.clone() },
        OutMessage::Buttons { body, buttons } => WireOut::Buttons {
            body: body.clone(),
            buttons: buttons.clone(),
        },
        OutMessage::List { body, button, rows } => WireOut::List {
            body: body.clone(),
            button: button.clone(),
            rows: rows.clone(),
        },
        OutMessage::Template {
            wa_name,
            lang,
            params,
            ..
        } => WireOut::Template {
            name: wa_name.clone(),
            lang: lang.clone(),
            params: params.clone(),
        },
        OutMessage::Form { form, title, body } => WireOut::Flow {
            body: body.clone(),
            flow_name: form.clone(),
            cta: title.chars().take(20).collect(),
            token: token.to_string(),
            screen: String::new(),
        },
    }
}

/// Makes a string safe inside a Prometheus label value.
pub fn prom_label(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '_' } else { c })
        .take(64)
        .collect()
}
