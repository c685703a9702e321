//! WhatsApp Flows in the daemon: flow tokens bound to a card, the server-side check of
//! submitted forms, and the encrypted data endpoint (`POST /flows/endpoint`).
//!
//! A token is 128 random bits, stored with the contact, form and card it was issued for
//! (`flow_tokens` table). A submission (`nfm_reply`) is accepted only with a known,
//! unused, unexpired token of the same contact, and only when every value passes the
//! field rules of the script — the client's own checks are never trusted. Everything
//! else is recorded (metric, `unknown_events` row, audit row) and reaches no handler.
//!
//! The endpoint follows Meta's data API 3.0: RSA-OAEP (SHA-256, MGF1 SHA-256) unwraps
//! the AES-128 key, AES-GCM with the 16-byte IV decrypts the body, and the answer is
//! encrypted with the same key and the bit-flipped IV (src/crypto.rs).

use super::Shared;
use super::metrics::Metrics;
use super::store::FlowToken;
use super::wire::inbound;
use crate::compile::{Program, Value};
pub use crate::crypto::{FlowKey, flip, gcm_open, gcm_seal};
use crate::engine::forms::Refused;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A fresh flow token: 128 random bits, hex.
pub fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A decrypted endpoint request and the key material to answer it.
#[derive(Debug)]
pub struct Decrypted {
    pub body: Json,
    pub key: [u8; 16],
    pub iv: [u8; 16],
}

/// Why a request could not be decrypted.
#[derive(Debug, PartialEq, Eq)]
pub enum Undecryptable {
    /// Not the JSON envelope at all.
    Malformed,
    /// The key does not unwrap, the IV is wrong, or the ciphertext was altered.
    Crypto,
}

/// Decrypts the wire envelope `{encrypted_flow_data, encrypted_aes_key, initial_vector}`.
pub fn decrypt_request(key: &FlowKey, raw: &[u8]) -> Result<Decrypted, Undecryptable> {
    let envelope: Json = serde_json::from_slice(raw).map_err(|_| Undecryptable::Malformed)?;
    let field = |k: &str| -> Result<Vec<u8>, Undecryptable> {
        let text = envelope
            .get(k)
            .and_then(Json::as_str)
            .ok_or(Undecryptable::Malformed)?;
        B64.decode(text).map_err(|_| Undecryptable::Crypto)
    };
    let data = field("encrypted_flow_data")?;
    let wrapped = field("encrypted_aes_key")?;
    let iv: [u8; 16] = field("initial_vector")?
        .try_into()
        .map_err(|_| Undecryptable::Crypto)?;
    let aes = key.unwrap_key(&wrapped).ok_or(Undecryptable::Crypto)?;
    let plain = gcm_open(&aes, &iv, &data).ok_or(Undecryptable::Crypto)?;
    let body = serde_json::from_slice(&plain).map_err(|_| Undecryptable::Malformed)?;
    Ok(Decrypted { body, key: aes, iv })
}

/// Encrypts an answer with the request's key and the flipped IV, base64.
pub fn encrypt_response(answer: &Json, key: &[u8; 16], iv: &[u8; 16]) -> Option<String> {
    let plain = serde_json::to_vec(answer).ok()?;
    gcm_seal(key, &flip(iv), &plain).map(|c| B64.encode(c))
}

// --- submissions --------------------------------------------------------------------

/// Why a form submission was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `response_json` is not a JSON object with a `flow_token`.
    Malformed,
    /// No such token was issued (or it was issued to another contact).
    UnknownToken,
    /// The token was already used by an accepted submission.
    ReusedToken,
    /// The token is older than `[flows] token_ttl_hours`.
    ExpiredToken,
    /// The form no longer exists in the running script.
    UnknownForm,
    /// Values break the field rules; the names of the failing inputs, in form order.
    Invalid(Vec<String>),
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::UnknownToken => "unknown_token",
            Refusal::ReusedToken => "reused_token",
            Refusal::ExpiredToken => "expired_token",
            Refusal::UnknownForm => "unknown_form",
            Refusal::Invalid(_) => "invalid_values",
        }
    }
}

/// An accepted submission: the form, its checked values, and the token to mark used.
#[derive(Debug, PartialEq)]
pub struct Accepted {
    pub form: String,
    pub values: BTreeMap<String, Value>,
    pub token: String,
}

/// The flow token inside an `nfm_reply`'s `response_json`, if any.
pub fn token_of(response: &Json) -> Option<&str> {
    response.get("flow_token").and_then(Json::as_str)
}

/// Judges a submission against the token it carries (looked up by the caller) and the
/// form's field rules. Pure: the caller stores the outcome.
pub fn judge(
    program: &Program,
    issued: Option<&FlowToken>,
    contact: &str,
    response: &Json,
    now_ms: i64,
    ttl_ms: i64,
    today: jiff::civil::Date,
) -> Result<Accepted, Refusal> {
    let obj = response.as_object().ok_or(Refusal::Malformed)?;
    let token = token_of(response).ok_or(Refusal::Malformed)?;
    let row = issued
        .filter(|t| t.token == token && t.contact == contact)
        .ok_or(Refusal::UnknownToken)?;
    if row.used_ms.is_some() {
        return Err(Refusal::ReusedToken);
    }
    if now_ms.saturating_sub(row.issued_ms) > ttl_ms {
        return Err(Refusal::ExpiredToken);
    }
    // The one check of submitted values, shared with `wafl test` and the REPL.
    let values =
        crate::engine::forms::check(program, &row.form, obj, today).map_err(|r| match r {
            Refused::UnknownForm => Refusal::UnknownForm,
            Refused::Invalid(fields) => Refusal::Invalid(fields),
        })?;
    Ok(Accepted {
        form: row.form.clone(),
        values,
        token: token.to_string(),
    })
}

// --- the endpoint -------------------------------------------------------------------

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

fn encrypted(answer: &Json, d: &Decrypted, code: StatusCode) -> Response {
    match encrypt_response(answer, &d.key, &d.iv) {
        Some(body) => (code, [(header::CONTENT_TYPE, "text/plain")], body).into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn count(shared: &Shared, outcome: &str) {
    shared.metrics.count(
        "flows_endpoint_requests_total",
        &format!("outcome=\"{outcome}\""),
    );
}

async fn record(shared: &Shared, kind: &'static str, raw: String) {
    let now = jiff::Timestamp::now().as_millisecond();
    if let Err(e) = shared
        .db
        .run(move |s| s.record_rejected(kind, &raw, now))
        .await
    {
        tracing::error!("could not record a Flows endpoint request: {e}");
    }
}

/// `POST /flows/endpoint`: the WhatsApp Flows data endpoint.
pub async fn endpoint(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // 1. The signature, like the webhook's: 432 when it does not verify.
    if let Some(secret) = &shared.config.app_secret {
        let sig = headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok());
        if !inbound::verify_signature(secret.expose().as_bytes(), &body, sig) {
            count(&shared, "bad_signature");
            return status(432).into_response();
        }
    }
    // 2. Decryption: 421 makes the client fetch the public key again and retry.
    let Some(key) = shared.flows_key.as_ref() else {
        count(&shared, "no_key");
        tracing::warn!(
            "a Flows endpoint request arrived but no private key is configured (WAFL_FLOWS_PRIVATE_KEY)"
        );
        return status(421).into_response();
    };
    let d = match decrypt_request(key, &body) {
        Ok(d) => d,
        Err(Undecryptable::Malformed) => {
            count(&shared, "malformed");
            return (StatusCode::BAD_REQUEST, "not a Flows endpoint request").into_response();
        }
        Err(Undecryptable::Crypto) => {
            count(&shared, "undecryptable");
            return status(421).into_response();
        }
    };
    let action = d.body.get("action").and_then(Json::as_str).unwrap_or("");
    // 3. Health checks carry no token.
    if action == "ping" {
        count(&shared, "ping");
        return encrypted(&json!({"data": {"status": "active"}}), &d, StatusCode::OK);
    }
    // 4. Error notifications about an earlier answer: acknowledge and keep.
    if d.body.pointer("/data/error").is_some() {
        count(&shared, "error_notification");
        tracing::warn!(
            "WhatsApp reported an error with an earlier Flows endpoint answer: {}",
            d.body
                .pointer("/data/error")
                .map(Json::to_string)
                .unwrap_or_default()
        );
        record(&shared, "flows_endpoint_error", d.body.to_string()).await;
        return encrypted(&json!({"data": {"acknowledged": true}}), &d, StatusCode::OK);
    }
    // 5. The token: 427 when it is unknown, used or expired.
    let token = d
        .body
        .get("flow_token")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    let lookup = token.clone();
    let row = shared
        .db
        .run(move |s| s.flow_token(&lookup))
        .await
        .ok()
        .flatten();
    let now = jiff::Timestamp::now().as_millisecond();
    let row = match row {
        Some(r)
            if r.used_ms.is_none()
                && now.saturating_sub(r.issued_ms) <= shared.config.flows_token_ttl_ms =>
        {
            r
        }
        other => {
            count(&shared, "bad_token");
            let reason = match other {
                None => "unknown_token",
                Some(r) if r.used_ms.is_some() => "reused_token",
                Some(_) => "expired_token",
            };
            record(
                &shared,
                "flows_endpoint_rejected",
                json!({"reason": reason, "action": action}).to_string(),
            )
            .await;
            return encrypted(
                &json!({"error_msg": "This form is no longer available."}),
                &d,
                status(427),
            );
        }
    };
    let loaded = shared.script();
    let Some(form) = loaded.program.forms.get(&row.form) else {
        count(&shared, "bad_token");
        return encrypted(
            &json!({"error_msg": "This form is no longer available."}),
            &d,
            status(427),
        );
    };
    let screen = d.body.get("screen").and_then(Json::as_str).unwrap_or("");
    let data = d
        .body
        .get("data")
        .filter(|v| v.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    let fallback = static_answer(&form.screens, action, screen, &data, &token);
    // The script's `data WEBHOOK` wins; `[flows.data]` in the config can name one for
    // scripts that do not.
    let source = form
        .data
        .as_ref()
        .map(|d| (d.webhook.clone(), d.timeout_ms))
        .or_else(|| {
            shared
                .config
                .flows_data
                .get(&row.form)
                .map(|w| (w.clone(), None))
        });
    let answer = match source {
        Some((webhook, timeout_ms)) => {
            let request = json!({
                "form": row.form,
                "action": action,
                "screen": screen,
                "data": data,
                "contact": super::worker::phone_of(&row.contact),
                "card": row.card_id,
            });
            match live_data(&shared, &loaded.program, &webhook, timeout_ms, &request).await {
                Some(live) => merge(live, &form.screens, &fallback, &token),
                None => {
                    count(&shared, "data_fallback");
                    fallback
                }
            }
        }
        None => fallback,
    };
    let answer = with_screen_defaults(answer, &form.screens, &form.screen_data);
    count(&shared, "answered");
    encrypted(&answer, &d, StatusCode::OK)
}

/// What a form's screens show without live data: `INIT` opens the first screen,
/// `data_exchange` moves to the next screen carrying the answers so far (or completes on
/// the last screen), `BACK` returns to the screen before.
pub fn static_answer(
    screens: &[String],
    action: &str,
    screen: &str,
    data: &Json,
    token: &str,
) -> Json {
    let first = screens.first().cloned().unwrap_or_default();
    let at = screens.iter().position(|s| s == screen);
    match action {
        "data_exchange" => match at {
            Some(i) if i + 1 < screens.len() => {
                json!({"screen": screens.get(i + 1), "data": data})
            }
            Some(_) => complete(data, token),
            None => json!({"screen": first, "data": {}}),
        },
        "BACK" => {
            let back = at
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| screens.get(i))
                .unwrap_or(&first);
            json!({"screen": back, "data": {}})
        }
        _ => json!({"screen": first, "data": {}}),
    }
}

/// Fills what a screen shows by default (its choice options) wherever the answer does
/// not say otherwise, so an endpoint-powered screen always has its options, also when
/// the data webhook is down or answers only part of the data.
pub fn with_screen_defaults(mut answer: Json, screens: &[String], defaults: &[Json]) -> Json {
    let at = answer
        .get("screen")
        .and_then(Json::as_str)
        .and_then(|s| screens.iter().position(|id| id == s));
    let Some(Json::Object(d)) = at.and_then(|i| defaults.get(i)) else {
        return answer;
    };
    if let Some(Json::Object(data)) = answer.get_mut("data") {
        for (k, v) in d {
            data.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    answer
}

/// The answer that closes the form: its `params` become the `nfm_reply`.
fn complete(data: &Json, token: &str) -> Json {
    let mut params = data.as_object().cloned().unwrap_or_default();
    params.insert("flow_token".into(), Json::String(token.to_string()));
    json!({"screen": "SUCCESS", "data": {"extension_message_response": {"params": params}}})
}

/// Takes the data webhook's answer: `{"screen"?, "data"}`. A missing or unknown screen
/// keeps the static one; `SUCCESS` completes the form with the token the daemon issued.
fn merge(live: Json, screens: &[String], fallback: &Json, token: &str) -> Json {
    let data = live
        .get("data")
        .filter(|d| d.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    match live.get("screen").and_then(Json::as_str) {
        Some("SUCCESS") => {
            let params = data
                .pointer("/extension_message_response/params")
                .cloned()
                .unwrap_or(data);
            complete(&params, token)
        }
        Some(s) if screens.iter().any(|x| x == s) => json!({"screen": s, "data": data}),
        _ => {
            let mut answer = fallback.clone();
            if answer.get("screen").and_then(Json::as_str) == Some("SUCCESS") {
                return answer;
            }
            if let Some(obj) = answer.as_object_mut() {
                obj.insert("data".into(), data);
            }
            answer
        }
    }
}

/// Calls the form's data webhook with a timeout; `None` on any failure.
async fn live_data(
    shared: &Shared,
    program: &Program,
    name: &str,
    timeout_ms: Option<u64>,
    request: &Json,
) -> Option<Json> {
    let Some(hook) = program.webhooks.get(name) else {
        tracing::warn!("[flows.data] names webhook `{name}`, which the script does not declare");
        return None;
    };
    let body = request.to_string().into_bytes();
    let ts = jiff::Timestamp::now().as_second();
    let mut req = shared
        .http
        .post(&hook.url)
        .timeout(std::time::Duration::from_millis(
            // WhatsApp waits 10 s for the endpoint: stay under it.
            timeout_ms
                .unwrap_or(shared.config.flows_data_timeout_ms)
                .min(9_000),
        ))
        .header("content-type", "application/json")
        .header("x-wafl-timestamp", ts.to_string());
    if let Some(secret) = hook
        .secret_env
        .as_ref()
        .and_then(|v| shared.config.script_secrets.get(v))
    {
        req = req.header(
            "x-wafl-signature",
            super::wire::sign::webhook_signature(secret.expose().as_bytes(), ts, &body),
        );
    }
    let resp = match req.body(body).send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            tracing::warn!(
                "data webhook `{name}` answered HTTP {}; using the static screen",
                r.status()
            );
            return None;
        }
        Err(e) => {
            tracing::warn!(
                "data webhook `{name}` {}; using the static screen",
                if e.is_timeout() {
                    "timed out"
                } else {
                    "failed"
                }
            );
            return None;
        }
    };
    let bytes = resp.bytes().await.ok()?;
    let v: Json = serde_json::from_slice(&bytes).ok()?;
    v.is_object().then_some(v)
}

/// Counts a refused submission (metric) and returns the row kept in `unknown_events`.
pub fn refusal_record(
    metrics: &Metrics,
    refusal: &Refusal,
    contact: &str,
    response: &Json,
) -> (String, String) {
    metrics.count(
        "form_submissions_refused_total",
        &format!("reason=\"{}\"", refusal.reason()),
    );
    let mut raw = Map::new();
    raw.insert("reason".into(), json!(refusal.reason()));
    raw.insert("contact".into(), json!(contact));
    raw.insert("flow_token".into(), json!(token_of(response)));
    if let Refusal::Invalid(fields) = refusal {
        raw.insert("invalid".into(), json!(fields));
    }
    (
        "form_submission_refused".into(),
        Json::Object(raw).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn static_answers_walk_the_screens() {
        let screens = vec!["A".to_string(), "B".to_string()];
        let d = json!({"x": "1"});
        assert_eq!(
            static_answer(&screens, "INIT", "", &json!({}), "t"),
            json!({"screen": "A", "data": {}})
        );
        assert_eq!(
            static_answer(&screens, "data_exchange", "A", &d, "t"),
            json!({"screen": "B", "data": {"x": "1"}})
        );
        assert_eq!(
            static_answer(&screens, "data_exchange", "B", &d, "t"),
            json!({"screen": "SUCCESS", "data": {"extension_message_response": {"params": {"x": "1", "flow_token": "t"}}}})
        );
        assert_eq!(static_answer(&screens, "BACK", "A", &d, "t")["screen"], "A");
        assert_eq!(
            static_answer(&screens, "data_exchange", "ZZ", &d, "t")["screen"],
            "A"
        );
        assert_eq!(static_answer(&[], "INIT", "", &d, "t")["screen"], "");
    }

    #[test]
    fn a_webhook_cannot_replace_the_token_of_a_completion() {
        let screens = vec!["A".to_string()];
        let live = json!({"screen": "SUCCESS", "data": {"extension_message_response": {"params": {"flow_token": "forged", "ok": true}}}});
        let fallback = static_answer(&screens, "INIT", "", &json!({}), "real");
        assert_eq!(
            merge(live, &screens, &fallback, "real"),
            json!({"screen": "SUCCESS", "data": {"extension_message_response": {"params": {"flow_token": "real", "ok": true}}}})
        );
    }
}
