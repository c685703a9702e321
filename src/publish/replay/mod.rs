//! Replay of recorded conversations against a candidate script: each conversation is
//! re-driven through the engine on the recorded instants, sending nothing, and compared
//! with what the live bot did up to the first divergence ([`drive`], [`compare`]); the
//! results are summed up per stage and per handler and rendered for people or as JSON
//! for CI ([`report`]).

pub mod compare;
pub mod drive;
pub mod record;
pub mod recorder;
pub mod report;

pub use compare::Class;
pub use drive::{Conversation, Divergence, TurnPair, Verdict, replay};
pub use record::{Output, OutputKind, RECORDING_VERSION, Recording, Turn};
pub use recorder::Recorder;
pub use report::Report;
