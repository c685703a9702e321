//! The operations console served by `wafl run`: accounts, sessions and CSRF (`auth`),
//! the JSON API (`api`) over typed records in the product's vocabulary (`model`,
//! `timeline`), the one phone-number format (`phone`), the pages (`pages`, with their
//! words in `i18n`) and the live events (`events`). See `docs/console.md` and the
//! "Console API" section of `docs/daemon.md`.

pub mod api;
pub mod auth;
pub mod error;
pub mod events;
pub mod i18n;
pub mod model;
pub mod pages;
pub mod phone;
pub mod timeline;

use super::Shared;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

/// What the console keeps in memory per daemon.
#[derive(Debug, Default)]
pub struct ConsoleState {
    /// Failed sign-ins per account and per address.
    pub limiter: auth::SignInLimiter,
}

/// The console's routes (the JSON API, the pages and the live events), merged into the
/// daemon's router.
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
        .merge(pages::routes())
}

/// The id of the last live event the board's data includes (`/api/events` resumes
/// after it).
pub fn last_event_id(shared: &Shared) -> u64 {
    shared.events.last_id()
}

/// The sign-in form's CSRF token and the cookie that carries it.
pub struct LoginCsrf {
    pub token: String,
    pub cookie: Option<HeaderValue>,
}

/// A fresh sign-in token for the sign-in page.
pub fn login_csrf(shared: &Shared, _headers: &HeaderMap) -> LoginCsrf {
    let (token, cookie) = auth::login_token(shared);
    LoginCsrf {
        token,
        cookie: HeaderValue::from_str(&cookie).ok(),
    }
}

/// Who follows the live events: the signed-in user (or the admin token's bearer).
pub async fn viewer(shared: &Shared, headers: &HeaderMap) -> Result<events::Viewer, Box<Response>> {
    match auth::authenticate(shared, headers).await {
        Ok(v) if v.user.role == auth::Role::Manager => Ok(events::Viewer::Everything),
        Ok(v) => Ok(events::Viewer::Agent {
            id: v.user.id,
            teams: v.user.teams,
        }),
        Err(e) => Err(Box::new(e.into_response())),
    }
}
