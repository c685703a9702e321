//! wafl: a rules language and toolchain for WhatsApp customer-service flows.
//!
//! The pipeline is `syntax` → `check` → `compile` → `engine`; `session` ties them
//! together for the fronts (`cli`, `repl`, `lsp`, `runtime`). See ARCHITECTURE.md.

pub mod ai;
pub mod check;
pub mod classify;
pub mod cli;
pub mod compile;
pub mod daemon;
pub mod diag;
pub mod engine;
pub mod fmt;
pub mod graph;
// Until the daemon's store folder exists, the PostgreSQL store is reached from here.
pub mod lsp;
pub mod measure;
#[path = "daemon/store/postgres/mod.rs"]
pub mod postgres_store;
pub mod publish;
pub mod repl;
pub mod session;
pub mod syntax;
pub mod testrun;
