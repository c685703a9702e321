//! wafl: a rules language and toolchain for WhatsApp customer-service flows.
//!
//! The pipeline is `syntax` → `check` → `compile` → `engine`; `session` ties them
//! together for the fronts (`cli`, `repl`, `lsp`, `runtime`). See ARCHITECTURE.md.

pub mod ai;
pub mod check;
pub mod classify;
pub mod cli;
pub mod compile;
pub mod crypto;
pub mod daemon;
pub mod diag;
pub mod engine;
pub mod fmt;
pub mod graph;
pub mod lsp;
pub mod measure;
pub mod publish;
pub mod repl;
pub mod session;
pub mod syntax;
pub mod testrun;
