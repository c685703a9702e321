//! The console API's errors: a status and `{"error": {"code", "message"}}`, the message
//! saying what went wrong and how to fix it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait, for `429`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in first: POST /login, or send `Authorization: Bearer <WAFL_ADMIN_TOKEN>`",
        )
    }

    pub fn unknown_card(phone: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_card",
            format!(
                "there is no card for {phone}; check the number (cards are listed by GET /api/cards)"
            ),
        )
    }

    pub fn closed_card(phone: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "closed_card",
            format!("the card of {phone} is closed; it opens again when the customer writes"),
        )
    }

    pub fn internal(what: impl std::fmt::Display) -> ApiError {
        tracing::error!("console API: {what}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!(
                "the server could not do this: {what}; try again, and see the daemon's log if it persists"
            ),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            axum::Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}
