//! The HTTP face of the daemon (axum), one file per audience: `webhook` (WhatsApp's
//! verification handshake and signed POSTs), `admin` (the JSON API for people running the
//! service), `sandbox` (the chat page used without WhatsApp credentials). Health, readiness
//! and metrics live here. What a request stores and dispatches is `super::intake`'s job.

mod admin;
mod sandbox;
mod webhook;

use super::Shared;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

type S = State<Arc<Shared>>;

pub fn router(shared: Arc<Shared>) -> Router {
    let limit = shared.config.max_body_bytes;
    Router::new()
        .route("/webhook", get(webhook::verify).post(webhook::receive))
        .route("/flows/endpoint", post(super::flows::endpoint))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/admin/cards", get(admin::cards))
        .route("/admin/cards/{contact}", get(admin::card))
        .route("/admin/cards/{contact}/{action}", post(admin::action))
        .route("/admin/outbox/dead", get(admin::dead_letters))
        .route("/admin/outbox/retry", post(admin::retry_all))
        .route("/admin/outbox/{id}/retry", post(admin::retry_one))
        .route("/sandbox/webhooks", get(sandbox::webhooks))
        .route("/sandbox", get(sandbox::page))
        .route("/sandbox/send", post(sandbox::send))
        .route("/sandbox/messages", get(sandbox::messages))
        .merge(super::console::router())
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
}

/// Serves until SIGINT or SIGTERM, then drains: in-flight requests finish, the outbox
/// sender finishes the requests it started, and storage commits what it holds.
pub async fn serve(shared: Arc<Shared>, listener: tokio::net::TcpListener) {
    let app = router(shared.clone());
    let stop = shared.clone();
    // The peer address feeds the sign-in rate limit per client address.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: draining in-flight work");
            let _ = stop.shutdown.send(true);
        })
        .await;
    if let Err(e) = result {
        tracing::error!("server error: {e}");
    }
    // Give the outbox sender a moment to finish requests it had started.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn ready(State(shared): S) -> Response {
    let up = shared.ready.load(std::sync::atomic::Ordering::Relaxed);
    // The database answers, or this instance cannot take webhooks (they get 503 and
    // WhatsApp delivers them again).
    let db = match shared.db.run(|s| s.schema_version()).await {
        Ok(v) => Ok(format!("database: ok (schema {v})")),
        Err(e) => Err(format!("database: {e}")),
    };
    match (up, db) {
        (true, Ok(db)) => (StatusCode::OK, format!("ready\n{db}\n")).into_response(),
        (_, Err(db)) | (false, Ok(db)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready\n{db}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(shared): S) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        shared.metrics.render(),
    )
        .into_response()
}
