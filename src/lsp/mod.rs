//! `wafl lsp`: a Language Server Protocol server over stdio. A thin front over
//! [`crate::session`]: it keeps the open documents in a session, converts positions and
//! diagnostics, and answers requests from the session's parse and check results and the
//! name index ([`crate::check::refs`]). It has no checking logic of its own.
//!
//! **Invariant:** only this module knows lsp-types, and [`LineIndex`] is the one place
//! that converts between byte offsets and UTF-16 positions.

mod convert;
mod features;
mod line_index;
mod server;
mod tokens;

pub use line_index::LineIndex;
pub use server::{run, run_stdio};
