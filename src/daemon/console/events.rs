//! The console's live events: every change to a conversation the console shows (a card
//! changed or closed, a message in or out) becomes a numbered [`ConsoleEvent`] on the
//! [`ConsoleBus`]. `GET /api/events` streams them as Server-Sent Events; a browser that
//! lost its connection comes back with `Last-Event-ID` and gets every event it missed
//! from the bus's ring buffer, or a `reset` (reload the board) when the gap is older than
//! the buffer or the daemon restarted.
//!
//! Ids increase monotonically and across restarts: the first id of a run is the start
//! time in microseconds, so an id from a previous run is always older than the buffer.
//! Events are local to the instance that ran the step.

use super::super::Shared;
use super::super::store::persisted::ConversationBody;
use crate::engine::{CardStatus, Effect, EffectKind, Event, InboundMessage, State as EngineState};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// How many events the bus keeps for clients that reconnect.
pub const RING: usize = 10_000;

/// What an event says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A card was opened or changed; data is its summary.
    Card,
    /// A card was closed; data `{"phone"}`.
    Closed,
    /// A message went in or out; data `{"phone","direction","text","at"}`.
    Message,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Card => "card",
            EventKind::Closed => "closed",
            EventKind::Message => "message",
        }
    }
}

/// Whose card an event is about, for visibility: its team and agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub team: Option<String>,
    pub agent: Option<String>,
}

/// One numbered event, with the scope of its card for visibility.
#[derive(Clone, Debug)]
pub struct ConsoleEvent {
    pub id: u64,
    pub kind: EventKind,
    pub data: Value,
    pub scope: Scope,
}

/// Where a client resumes: the events it missed, or a reset when they are gone.
#[derive(Debug)]
pub enum Resume {
    Missed(Vec<Arc<ConsoleEvent>>),
    Reset,
}

struct Ring {
    next: u64,
    events: VecDeque<Arc<ConsoleEvent>>,
}

/// The publishing and subscribing handle of the console's live events.
pub struct ConsoleBus {
    ring: Mutex<Ring>,
    capacity: usize,
    tx: broadcast::Sender<Arc<ConsoleEvent>>,
    /// Bumped to end every open stream (their browsers reconnect and resume).
    cut: watch::Sender<u64>,
}

impl std::fmt::Debug for ConsoleBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleBus")
            .field("last_id", &self.last_id())
            .finish()
    }
}

impl Default for ConsoleBus {
    fn default() -> Self {
        let first = u64::try_from(jiff::Timestamp::now().as_microsecond()).unwrap_or(1);
        ConsoleBus::new(first, RING)
    }
}

impl ConsoleBus {
    /// A bus whose first event has id `first`, keeping the last `capacity` events.
    pub fn new(first: u64, capacity: usize) -> ConsoleBus {
        let capacity = capacity.max(1);
        let (tx, _) = broadcast::channel(1024);
        let (cut, _) = watch::channel(0);
        ConsoleBus {
            ring: Mutex::new(Ring {
                next: first.max(1),
                events: VecDeque::with_capacity(capacity.min(1024)),
            }),
            capacity,
            tx,
            cut,
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        match self.ring.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The id of the newest event (one less than the next), which a board snapshot
    /// reports so its stream starts right after it.
    pub fn last_id(&self) -> u64 {
        self.ring().next - 1
    }

    /// Numbers an event, keeps it in the ring and hands it to every open stream.
    pub fn publish(&self, kind: EventKind, scope: Scope, data: Value) -> u64 {
        let mut ring = self.ring();
        let id = ring.next;
        ring.next += 1;
        let event = Arc::new(ConsoleEvent {
            id,
            kind,
            data,
            scope,
        });
        if ring.events.len() == self.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        // Sent under the lock, so a subscriber sees each event either in its replay or
        // on its receiver, never in both or neither.
        let _ = self.tx.send(event);
        id
    }

    /// Publishes events in order.
    pub fn publish_all(&self, events: Vec<Pending>) {
        for e in events {
            self.publish(e.kind, e.scope, e.data);
        }
    }

    /// Subscribes after event `after`: the events since then, and a receiver of the
    /// ones to come.
    pub fn subscribe(&self, after: u64) -> (Resume, broadcast::Receiver<Arc<ConsoleEvent>>) {
        let ring = self.ring();
        let rx = self.tx.subscribe();
        (Self::since(&ring, after), rx)
    }

    /// The events after `after` still in the ring, or `Reset` when some are gone.
    pub fn replay(&self, after: u64) -> Resume {
        Self::since(&self.ring(), after)
    }

    fn since(ring: &Ring, after: u64) -> Resume {
        let last = ring.next - 1;
        if after >= last {
            // Nothing new, or an id this run has not reached: a previous run's id is
            // always smaller, so a larger one is a client's invention.
            return if after == last {
                Resume::Missed(Vec::new())
            } else {
                Resume::Reset
            };
        }
        let oldest = ring.events.front().map_or(ring.next, |e| e.id);
        if after + 1 < oldest {
            return Resume::Reset;
        }
        let skip = usize::try_from(after + 1 - oldest).unwrap_or(usize::MAX);
        Resume::Missed(ring.events.iter().skip(skip).cloned().collect())
    }

    /// Ends every open stream; their browsers reconnect with `Last-Event-ID`.
    pub fn disconnect_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// A receiver that changes when [`disconnect_all`](Self::disconnect_all) is called.
    pub fn cuts(&self) -> watch::Receiver<u64> {
        self.cut.subscribe()
    }
}

/// An event not yet numbered: made before a step is stored, published after.
#[derive(Clone, Debug)]
pub struct Pending {
    pub kind: EventKind,
    pub scope: Scope,
    pub data: Value,
}

/// The events one engine step makes: the message that came in, the messages that went
/// out, then the card's new summary (or its closing). `summary` builds the card's summary
/// as the console API shows it; it runs only when the card changed. Publish them with
/// [`ConsoleBus::publish_all`] once the step is stored.
pub fn step_events(
    old: &EngineState,
    new: &EngineState,
    event: Option<&Event>,
    effects: &[Effect],
    now: jiff::Timestamp,
    summary: impl FnOnce() -> Option<Value>,
) -> Vec<Pending> {
    let phone = new.contact.phone.as_str();
    let scope = new
        .card
        .as_ref()
        .or(old.card.as_ref())
        .map(|c| Scope {
            team: c.team.clone(),
            agent: c.agent.clone(),
        })
        .unwrap_or_default();
    let at = now.to_string();
    let event_of = |kind, data| Pending {
        kind,
        scope: scope.clone(),
        data,
    };
    let mut out = Vec::new();
    if let Some(Event::Inbound(inbound)) = event {
        out.push(event_of(
            EventKind::Message,
            json!({ "phone": phone, "direction": "in", "text": inbound_text(&inbound.message), "at": at }),
        ));
    }
    for effect in effects {
        if let EffectKind::Send { message, .. } = &effect.kind {
            out.push(event_of(
                EventKind::Message,
                json!({ "phone": phone, "direction": "out", "text": message.body(), "at": at }),
            ));
        }
    }
    let messages = !out.is_empty();
    match (&old.card, &new.card) {
        (Some(_), None) => out.push(event_of(EventKind::Closed, json!({ "phone": phone }))),
        (_, Some(card)) if card.status == CardStatus::Closed => {
            out.push(event_of(EventKind::Closed, json!({ "phone": phone })))
        }
        (before, Some(card)) => {
            let changed = before.as_ref() != Some(card) || old.contact != new.contact;
            if (changed || messages)
                && let Some(data) = summary()
            {
                out.push(event_of(EventKind::Card, data));
            }
        }
        (None, None) => {}
    }
    out
}

/// A card's summary as the console API shows it (`model::summary`), from the body a
/// step stores.
pub fn card_summary(contact: &str, body: &ConversationBody) -> Option<Value> {
    let conversation = super::model::Conversation {
        key: contact.to_string(),
        state: super::model::StateView::deserialize(&body.state).ok()?,
        program: body.program.clone(),
    };
    serde_json::to_value(super::model::summary(&conversation)?).ok()
}

/// A customer's message as a line of text: its text, or what it is.
fn inbound_text(message: &InboundMessage) -> String {
    match message {
        InboundMessage::Form { form, .. } => format!("[{form}]"),
        InboundMessage::Media { kind, caption } => match caption {
            Some(c) => format!("[{}] {c}", kind.as_str()),
            None => format!("[{}]", kind.as_str()),
        },
        other => other.text().unwrap_or_default().to_string(),
    }
}

/// Who is watching a stream: the manager sees everything, an agent the cards of their
/// teams and the cards assigned to them (the console API's rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    Everything,
    Agent { id: String, teams: Vec<String> },
}

impl Viewer {
    pub fn sees(&self, event: &ConsoleEvent) -> bool {
        match self {
            Viewer::Everything => true,
            Viewer::Agent { id, teams } => {
                event.scope.agent.as_ref() == Some(id)
                    || event.scope.team.as_ref().is_some_and(|t| teams.contains(t))
            }
        }
    }
}

/// How often an idle stream sends a comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Deserialize)]
pub struct StreamQuery {
    /// Where a fresh page starts (the board's `last_event_id`); `Last-Event-ID` wins.
    after: Option<u64>,
}

/// `GET /api/events`: the live events the session may see, from `Last-Event-ID` (or
/// `?after=`, or now) on.
pub async fn stream(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Response {
    let viewer = match super::viewer(&shared, &headers).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let bus = &shared.events;
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let after = resumed.or(q.after).unwrap_or_else(|| bus.last_id());
    let (resume, rx) = bus.subscribe(after);
    let mut cuts = bus.cuts();
    cuts.borrow_and_update();
    let mut shutdown = shared.shutdown.subscribe();
    shutdown.borrow_and_update();
    let mut st = Streaming {
        shared: shared.clone(),
        viewer,
        last: after,
        queue: VecDeque::new(),
        rx,
        cuts,
        shutdown,
    };
    // Browsers come back one second after a drop instead of three.
    st.queue
        .push_back(SseEvent::default().retry(Duration::from_secs(1)));
    st.take(resume);
    let events = futures_util::stream::unfold(st, |mut st| async move {
        loop {
            if let Some(e) = st.queue.pop_front() {
                return Some((Ok::<_, Infallible>(e), st));
            }
            tokio::select! {
                _ = st.cuts.changed() => return None,
                _ = st.shutdown.changed() => return None,
                got = st.rx.recv() => match got {
                    Ok(event) => st.push(&event),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let resume = st.shared.events.replay(st.last);
                        st.take(resume);
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The state of one open stream.
struct Streaming {
    shared: Arc<Shared>,
    viewer: Viewer,
    /// The newest event id this stream has passed (sent or not visible).
    last: u64,
    queue: VecDeque<SseEvent>,
    rx: broadcast::Receiver<Arc<ConsoleEvent>>,
    cuts: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
}

impl Streaming {
    fn take(&mut self, resume: Resume) {
        match resume {
            Resume::Missed(events) => {
                for e in events {
                    self.push(&e);
                }
            }
            Resume::Reset => {
                // Everything up to now is replaced by the board the client reloads.
                self.last = self.shared.events.last_id();
                self.queue.push_back(
                    SseEvent::default()
                        .id(self.last.to_string())
                        .event("reset")
                        .data("{}"),
                );
            }
        }
    }

    fn push(&mut self, event: &ConsoleEvent) {
        if event.id <= self.last {
            return;
        }
        self.last = event.id;
        if self.viewer.sees(event) {
            self.queue.push_back(
                SseEvent::default()
                    .id(event.id.to_string())
                    .event(event.kind.as_str())
                    .data(event.data.to_string()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(r: Resume) -> Option<Vec<u64>> {
        match r {
            Resume::Missed(v) => Some(v.iter().map(|e| e.id).collect()),
            Resume::Reset => None,
        }
    }

    #[test]
    fn ids_increase_and_resume_misses_nothing() {
        let bus = ConsoleBus::new(100, 5);
        assert_eq!(bus.last_id(), 99);
        for i in 0..3 {
            bus.publish(EventKind::Card, Scope::default(), json!({ "n": i }));
        }
        assert_eq!(bus.last_id(), 102);
        assert_eq!(ids(bus.replay(99)), Some(vec![100, 101, 102]));
        assert_eq!(ids(bus.replay(101)), Some(vec![102]));
        assert_eq!(ids(bus.replay(102)), Some(vec![]));
    }

    #[test]
    fn a_gap_older_than_the_ring_or_from_nowhere_resets() {
        let bus = ConsoleBus::new(1, 3);
        for _ in 0..5 {
            bus.publish(EventKind::Message, Scope::default(), json!({}));
        }
        // Ring holds 3, 4, 5.
        assert_eq!(ids(bus.replay(2)), Some(vec![3, 4, 5]));
        assert_eq!(ids(bus.replay(1)), None, "event 2 is gone");
        assert_eq!(ids(bus.replay(0)), None);
        assert_eq!(ids(bus.replay(9)), None, "an id the bus never gave");
    }

    #[test]
    fn an_id_from_a_previous_run_resets() {
        let before = ConsoleBus::default();
        before.publish(EventKind::Card, Scope::default(), json!({}));
        let old = before.last_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let after = ConsoleBus::default();
        after.publish(EventKind::Card, Scope::default(), json!({}));
        assert!(after.last_id() > old);
        assert_eq!(ids(after.replay(old)), None);
    }

    #[tokio::test]
    async fn subscribers_get_each_later_event_once() {
        let bus = ConsoleBus::new(1, 10);
        let billing = Scope {
            team: Some("billing".into()),
            agent: None,
        };
        bus.publish(EventKind::Card, billing, json!({}));
        let (resume, mut rx) = bus.subscribe(0);
        assert_eq!(ids(resume), Some(vec![1]));
        bus.publish(
            EventKind::Closed,
            Scope::default(),
            json!({ "phone": "+551100" }),
        );
        let e = rx.recv().await.expect("event");
        assert_eq!((e.id, e.kind), (2, EventKind::Closed));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn agents_see_their_teams_and_their_own_cards() {
        let bus = ConsoleBus::new(1, 10);
        let scope = |team: Option<&str>, agent: Option<&str>| Scope {
            team: team.map(str::to_string),
            agent: agent.map(str::to_string),
        };
        bus.publish(EventKind::Card, scope(Some("billing"), None), json!({}));
        bus.publish(EventKind::Card, scope(Some("sales"), None), json!({}));
        bus.publish(
            EventKind::Card,
            scope(Some("sales"), Some("ana@x.com")),
            json!({}),
        );
        bus.publish(EventKind::Card, scope(None, None), json!({}));
        let Resume::Missed(events) = bus.replay(0) else {
            panic!("the ring holds every event")
        };
        let ana = Viewer::Agent {
            id: "ana@x.com".into(),
            teams: vec!["billing".into()],
        };
        let seen: Vec<u64> = events
            .iter()
            .filter(|e| ana.sees(e))
            .map(|e| e.id)
            .collect();
        assert_eq!(seen, vec![1, 3]);
        assert!(events.iter().all(|e| Viewer::Everything.sees(e)));
    }
}
