//! Stage 4 of the pipeline: the deterministic engine core.
//!
//! [`step`] takes the compiled program, one contact's conversation state, one event and
//! the current instant, and returns the new state plus the effects to perform. It does
//! no I/O, reads no clock, draws no random numbers, and iterates only ordered maps, so
//! the same inputs always give the same outputs. The daemon performs the effects; the
//! REPL and the test runner only look at them.
//!
//! **Invariant:** `step` never panics and always terminates: every instruction counts
//! against the step budget, and running out records an error and hands the
//! conversation to a human.

mod business;
mod card;
mod country;
mod dispatch;
mod eval;
pub mod events;
mod exec;
pub mod forms;
pub mod hours;
mod intents;
mod migrate;
mod run;
mod sla;
mod state;
pub mod validate;

pub use business::{BusinessEvent, EventError, check_event};
pub use country::{calling_code, country_of};
pub use migrate::migrate_card;
pub use state::*;

use crate::compile::Program;
use jiff::Timestamp;

/// What one event did: the new state and the effects to perform, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub state: State,
    pub effects: Vec<Effect>,
}

/// Runs one event through the program. Pure and deterministic.
pub fn step(program: &Program, state: &State, event: &Event, now: Timestamp) -> Outcome {
    run::step(program, state.clone(), event, now)
}

/// Evaluates a compiled expression against a conversation state at `now`, without
/// changing anything. Fronts use it to inspect fields (`expect field ...`, the REPL).
pub fn evaluate(
    program: &Program,
    state: &State,
    expr: &crate::compile::Expr,
    now: Timestamp,
) -> crate::compile::Value {
    run::evaluate(program, state, expr, now)
}
