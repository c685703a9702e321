//! The operations console served by `wafl run`: accounts, sessions and CSRF (`auth`),
//! the JSON API (`api`) over typed records in the product's vocabulary (`model`,
//! `timeline`), and the one phone-number format (`phone`). See `docs/console.md` and
//! the "Console API" section of `docs/daemon.md`.

pub mod api;
pub mod auth;
pub mod error;
pub mod model;
pub mod phone;
pub mod timeline;

use super::Shared;
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

/// What the console keeps in memory per daemon.
#[derive(Debug, Default)]
pub struct ConsoleState {
    /// Failed sign-ins per account and per address.
    pub limiter: auth::SignInLimiter,
}

/// The console's routes, merged into the daemon's router.
pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/login", post(api::login))
        .route("/logout", post(api::logout))
        .route("/api/login", get(api::login_token))
        .route("/api/session", get(api::session))
        .route("/api/board", get(api::board))
        .route("/api/cards", get(api::cards))
        .route("/api/attention", get(api::attention))
        .route("/api/cards/{phone}", get(api::card))
        .route("/api/cards/{phone}/{action}", post(api::action))
}

/// The id of the last live event the board's data includes (`/api/events` resumes
/// after it); 0 until the event stream is wired.
pub fn last_event_id(_shared: &Shared) -> u64 {
    0
}
