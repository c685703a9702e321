//! Making a recording by running a program, the way the daemon records its steps: each
//! input goes through the engine at its instant, and the turn keeps the input with the
//! effects. Timers fire at their due instants, each as a turn of its own.
//!
//! Tests, the benchmark and `wafl test`-like fronts use it to produce recordings without
//! a daemon; the daemon fills [`Recording`] from its own log of the same steps.

use super::record::{Output, RECORDING_VERSION, Recording, Turn};
use crate::compile::Program;
use crate::engine::{self, Contact, Event, State};
use jiff::Timestamp;

/// Most timers fired by one [`Recorder::advance`]: past this the program loops on timers.
const MAX_TIMERS: usize = 10_000;

/// Runs a program for one contact and records every step.
#[derive(Debug)]
pub struct Recorder<'p> {
    program: &'p Program,
    state: State,
    now: Timestamp,
    rec: Recording,
}

impl<'p> Recorder<'p> {
    /// A contact the program has never seen, at `start`.
    pub fn new(program: &'p Program, contact: Contact, start: Timestamp) -> Recorder<'p> {
        let state = State::new(contact);
        Recorder {
            program,
            rec: Recording {
                v: RECORDING_VERSION,
                contact: state.contact.phone.clone(),
                start: state.clone(),
                turns: Vec::new(),
                until: None,
                revision: None,
            },
            state,
            now: start,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Moves the clock to `at`, firing the timers due on the way, then delivers `ev` at
    /// `at`. Returns what the input did.
    pub fn input(&mut self, ev: Event, at: Timestamp) -> &[Output] {
        self.advance(at);
        self.step(ev);
        self.rec.turns.last().map_or(&[], |t| t.outputs.as_slice())
    }

    /// Moves the clock to `to`, each due timer firing at its own instant.
    pub fn advance(&mut self, to: Timestamp) {
        for _ in 0..MAX_TIMERS {
            let due = self
                .state
                .timers
                .iter()
                .filter(|(_, t)| t.at <= to)
                .min_by(|a, b| (a.1.at, a.0).cmp(&(b.1.at, b.0)))
                .map(|(id, t)| (id.clone(), t.at));
            let Some((id, at)) = due else { break };
            self.now = self.now.max(at);
            self.step(Event::Timer { id });
        }
        self.now = self.now.max(to);
    }

    fn step(&mut self, ev: Event) {
        let out = engine::step(self.program, &self.state, &ev, self.now);
        self.state = out.state;
        self.rec.turns.push(Turn {
            at: self.now,
            input: ev,
            outputs: out.effects.iter().filter_map(Output::from_effect).collect(),
        });
    }

    /// The recording, complete up to now.
    pub fn finish(mut self) -> Recording {
        self.rec.until = Some(self.now);
        self.rec
    }
}
