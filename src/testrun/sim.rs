//! The virtual clock and timer loop every simulated front shares: contacts talking to one
//! program, each event run through the engine at the clock's instant, due timers fired in
//! order, and the card events of every step recorded.
//!
//! `wafl test` drives one contact through it, `wafl repl` several, and measurement
//! simulations thousands; all of them fire timers the same way: one by one in order of
//! their instant (ties by contact, then timer id), each at its own instant.

use crate::compile::Program;
use crate::engine::events::{self, CardEvent};
use crate::engine::{self, Contact, Effect, Event, State, Timer};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// Most timers one advance fires unless told otherwise; beyond this a script is looping
/// on timers.
pub const MAX_TIMERS_PER_ADVANCE: usize = 10_000;

/// What one event did.
#[derive(Clone, Debug, Default)]
pub struct Step {
    pub effects: Vec<Effect>,
    pub events: Vec<CardEvent>,
}

/// A timer about to fire, as the loop found it.
#[derive(Clone, Debug)]
pub struct Firing {
    pub contact: String,
    pub id: String,
    pub timer: Timer,
}

/// Contacts, their engine states, one virtual clock and the card events so far.
#[derive(Clone, Debug)]
pub struct Sim {
    now: Timestamp,
    /// The content hash of the script, stamped on card events.
    script: String,
    states: BTreeMap<String, State>,
    /// Every running timer of every contact, in firing order.
    due: BTreeSet<(Timestamp, String, String)>,
    /// The entries of `due` by contact, so one contact's step updates only its own.
    queued: BTreeMap<String, Vec<(Timestamp, String)>>,
    log: Vec<CardEvent>,
    /// Most timers one [`Sim::advance_to`] fires.
    pub max_timers: usize,
}

impl Sim {
    /// A simulation starting at `start`; `script` is the content hash card events carry.
    pub fn new(start: Timestamp, script: impl Into<String>) -> Sim {
        Sim {
            now: start,
            script: script.into(),
            states: BTreeMap::new(),
            due: BTreeSet::new(),
            queued: BTreeMap::new(),
            log: Vec::new(),
            max_timers: MAX_TIMERS_PER_ADVANCE,
        }
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Moves the clock without firing anything (the caller fires what is due first).
    pub fn set_now(&mut self, now: Timestamp) {
        self.now = now;
    }

    /// The content hash stamped on card events.
    pub fn script(&self) -> &str {
        &self.script
    }

    pub fn set_script(&mut self, script: impl Into<String>) {
        self.script = script.into();
    }

    pub fn state(&self, contact: &str) -> Option<&State> {
        self.states.get(contact)
    }

    /// Every contact's state, by phone number.
    pub fn states(&self) -> impl Iterator<Item = (&String, &State)> {
        self.states.iter()
    }

    pub fn contains(&self, contact: &str) -> bool {
        self.states.contains_key(contact)
    }

    /// A contact's state for editing its contact data, created when new. Timers are not
    /// to be changed through it.
    pub fn contact_mut(&mut self, contact: &str) -> &mut Contact {
        &mut self
            .states
            .entry(contact.to_string())
            .or_insert_with(|| State::new(Contact::new(contact)))
            .contact
    }

    /// Replaces a contact's state (its conversation starts over).
    pub fn set_state(&mut self, contact: &str, state: State) {
        self.states.insert(contact.to_string(), state);
        self.sync(contact);
    }

    /// Every card event recorded so far, in order.
    pub fn events(&self) -> &[CardEvent] {
        &self.log
    }

    /// Forgets the recorded card events (to keep memory flat in long simulations).
    pub fn take_events(&mut self) -> Vec<CardEvent> {
        std::mem::take(&mut self.log)
    }

    /// Runs one event for one contact at the current instant.
    pub fn deliver(&mut self, program: &Program, contact: &str, event: &Event) -> Step {
        let before = self
            .states
            .remove(contact)
            .unwrap_or_else(|| State::new(Contact::new(contact)));
        let out = engine::step(program, &before, event, self.now);
        let evs = events::derive(program, &self.script, &before, event, &out, self.now);
        self.log.extend(evs.iter().cloned());
        self.states.insert(contact.to_string(), out.state);
        self.sync(contact);
        Step {
            effects: out.effects,
            events: evs,
        }
    }

    /// Moves the clock to `target` (never backwards), firing every due timer of every
    /// contact in order, each at its own instant. `each` sees every firing and what it
    /// did. Returns how many timers fired; it stops early after [`Sim::max_timers`].
    pub fn advance_to(
        &mut self,
        program: &Program,
        target: Timestamp,
        mut each: impl FnMut(&Firing, &Step),
    ) -> usize {
        let mut fired = 0;
        while fired < self.max_timers {
            let Some((at, contact, id)) = self.due.first().cloned() else {
                break;
            };
            if at > target {
                break;
            }
            let Some(timer) = self
                .states
                .get(&contact)
                .and_then(|s| s.timers.get(&id))
                .cloned()
            else {
                // Cannot happen while `due` mirrors the states; dropped, not spun on.
                self.due.remove(&(at, contact, id));
                continue;
            };
            if at > self.now {
                self.now = at;
            }
            let step = self.deliver(program, &contact, &Event::Timer { id: id.clone() });
            fired += 1;
            each(&Firing { contact, id, timer }, &step);
        }
        if target > self.now {
            self.now = target;
        }
        fired
    }

    /// The next instant a timer is due, if any.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.due.first().map(|(at, _, _)| *at)
    }

    /// Makes the timer queue agree with one contact's state.
    fn sync(&mut self, contact: &str) {
        for (at, id) in self.queued.remove(contact).unwrap_or_default() {
            self.due.remove(&(at, contact.to_string(), id));
        }
        let Some(s) = self.states.get(contact) else {
            return;
        };
        if s.timers.is_empty() {
            return;
        }
        let mut mine = Vec::with_capacity(s.timers.len());
        for (id, t) in &s.timers {
            self.due.insert((t.at, contact.to_string(), id.clone()));
            mine.push((t.at, id.clone()));
        }
        self.queued.insert(contact.to_string(), mine);
    }
}
