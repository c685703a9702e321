//! The daemon (`wafl run`): the only part that does I/O at scale — WhatsApp webhooks in,
//! Graph API sends and outbound webhooks out, durable state in SQLite, timers.
//!
//! **Invariant:** only this module knows WhatsApp wire types (`wire`).

pub mod config;
pub mod store;
pub mod wire;
