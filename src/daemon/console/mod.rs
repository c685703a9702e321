//! The operations console served by `wafl run`: the pages (`pages`, with their words in
//! `i18n`) and the live events (`events`).

pub mod events;
pub mod i18n;
pub mod pages;

use super::Shared;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The sign-in form's CSRF token and the cookie that carries it.
pub struct LoginCsrf {
    pub token: String,
    pub cookie: Option<HeaderValue>,
}

/// A fresh sign-in token for the sign-in page.
pub fn login_csrf(_shared: &Shared, _headers: &HeaderMap) -> LoginCsrf {
    LoginCsrf {
        token: String::new(),
        cookie: None,
    }
}

/// Who may follow the live events: the admin token's bearer sees everything.
pub async fn viewer(shared: &Shared, headers: &HeaderMap) -> Result<events::Viewer, Box<Response>> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    match &shared.config.admin_token {
        Some(t)
            if crate::daemon::wire::sign::constant_time_eq(
                given.as_bytes(),
                t.expose().as_bytes(),
            ) =>
        {
            Ok(events::Viewer::Everything)
        }
        _ => Err(Box::new(
            (
                StatusCode::UNAUTHORIZED,
                "sign in to follow the console's events",
            )
                .into_response(),
        )),
    }
}
