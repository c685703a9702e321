//! Where outbound requests go. [`Channel::Graph`] is the WhatsApp Cloud API and the
//! script's real webhooks; [`Channel::Sandbox`] (no WhatsApp credentials) keeps messages
//! for the `/sandbox` page and never calls a script's real webhook URLs: it records what
//! it would have posted (`/sandbox/webhooks`) and answers `call`s from an optional stub
//! file (`[sandbox] webhook_stubs`).

use super::Shared;
use super::config::Secret;
use super::outbox::SendError;
use super::wire::outbound::{self, OutMessage as WireOut, Retry};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Where outbound WhatsApp messages and webhook calls go.
#[derive(Debug)]
pub enum Channel {
    /// The WhatsApp Cloud API.
    Graph {
        base: String,
        phone_number_id: String,
        token: Secret,
    },
    /// No credentials: everything stays local.
    Sandbox(Sandbox),
}

/// What the sandbox keeps.
#[derive(Debug, Default)]
pub struct Sandbox {
    /// Messages "sent", as (contact without `+`, Graph API body).
    pub sent: Mutex<Vec<(String, Value)>>,
    /// Webhook requests it would have made.
    pub webhooks: Mutex<Vec<RecordedCall>>,
    /// Answers to `call`s, by webhook name.
    pub stubs: BTreeMap<String, Value>,
}

/// A webhook request the sandbox recorded instead of making it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RecordedCall {
    pub webhook: String,
    pub url: String,
    pub body: Value,
    /// Whether a `call` waited for its answer (else a `post`).
    pub call: bool,
    /// What the sandbox answered a `call` with (from the stub file).
    pub answered: Option<Value>,
}

/// One outbound webhook request.
#[derive(Debug)]
pub struct WebhookRequest<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub body: &'a [u8],
    pub idem_key: &'a str,
    /// Short hash of the script, sent as `x-wafl-script`.
    pub script: &'a str,
    pub secret: Option<&'a [u8]>,
    pub timeout: Duration,
    /// A `call` waits for an answer; a `post` does not.
    pub is_call: bool,
}

impl Sandbox {
    /// Reads the stub file: a JSON object from webhook name to the answer of its calls.
    pub fn with_stubs(path: Option<&std::path::Path>) -> Result<Sandbox, String> {
        let stubs = match path {
            None => BTreeMap::new(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    format!("cannot read the sandbox stub file `{}`: {e}", p.display())
                })?;
                serde_json::from_str(&text).map_err(|e| {
                    format!(
                        "the sandbox stub file `{}` is not a JSON object of webhook name -> answer: {e}",
                        p.display()
                    )
                })?
            }
        };
        Ok(Sandbox {
            stubs,
            ..Sandbox::default()
        })
    }
}

impl Channel {
    /// Sends one message; returns the wamid.
    pub async fn send(
        &self,
        shared: &Shared,
        to: &str,
        msg: &WireOut,
        callback: &str,
    ) -> Result<Option<String>, SendError> {
        match self {
            Channel::Sandbox(sandbox) => {
                let body = outbound::encode(to, msg, Some(callback));
                let Ok(mut v) = sandbox.sent.lock() else {
                    return Err(SendError {
                        code: 0,
                        message: "sandbox unavailable".into(),
                        retry: Retry::Yes,
                    });
                };
                v.push((to.trim_start_matches('+').to_string(), body));
                Ok(Some(format!("sandbox.{}", v.len())))
            }
            Channel::Graph {
                base,
                phone_number_id,
                token,
            } => {
                let url = format!("{base}/{phone_number_id}/messages");
                let body = outbound::encode(to, msg, Some(callback));
                let resp = shared
                    .http
                    .post(&url)
                    .bearer_auth(token.expose())
                    .timeout(Duration::from_millis(shared.config.http_timeout_ms))
                    .json(&body)
                    .send()
                    .await;
                match resp {
                    Ok(r) => {
                        let status = r.status();
                        let bytes = r.bytes().await.unwrap_or_default();
                        if status.is_success() {
                            Ok(outbound::parse_sent_id(&bytes))
                        } else {
                            match outbound::parse_error(&bytes) {
                                Some(e) => Err(SendError {
                                    code: e.code,
                                    retry: outbound::classify(e.code),
                                    message: format!("({}) {}", e.code, e.message),
                                }),
                                None => Err(SendError {
                                    code: i64::from(status.as_u16()),
                                    message: format!("HTTP {status}"),
                                    retry: if status.is_server_error() || status.as_u16() == 429 {
                                        Retry::Yes
                                    } else if status.as_u16() == 401 {
                                        Retry::Paused
                                    } else {
                                        Retry::No
                                    },
                                }),
                            }
                        }
                    }
                    Err(e) => Err(SendError {
                        code: 0,
                        message: if e.is_timeout() {
                            "timeout".into()
                        } else {
                            "connection failed".into()
                        },
                        retry: Retry::Yes,
                    }),
                }
            }
        }
    }

    /// Makes one webhook request; the answer's JSON (`null` when not JSON), or the error
    /// and whether retrying may help.
    pub async fn call_webhook(
        &self,
        shared: &Shared,
        req: WebhookRequest<'_>,
    ) -> Result<Value, (String, bool)> {
        match self {
            Channel::Sandbox(sandbox) => {
                let answered = req
                    .is_call
                    .then(|| sandbox.stubs.get(req.name).cloned())
                    .flatten();
                if let Ok(mut calls) = sandbox.webhooks.lock() {
                    calls.push(RecordedCall {
                        webhook: req.name.to_string(),
                        url: req.url.to_string(),
                        body: serde_json::from_slice(req.body).unwrap_or(Value::Null),
                        call: req.is_call,
                        answered: answered.clone(),
                    });
                }
                tracing::info!(webhook = %req.name, "sandbox: recorded a webhook request instead of making it");
                match (req.is_call, answered) {
                    (false, _) => Ok(Value::Null),
                    (true, Some(answer)) => Ok(answer),
                    (true, None) => Err((
                        format!(
                            "the sandbox does not call real webhooks and has no stub for `{}` (add it to [sandbox] webhook_stubs)",
                            req.name
                        ),
                        false,
                    )),
                }
            }
            Channel::Graph { .. } => {
                let ts = jiff::Timestamp::now().as_second();
                let mut http = shared
                    .http
                    .post(req.url)
                    .timeout(req.timeout)
                    .header("content-type", "application/json")
                    .header("idempotency-key", req.idem_key)
                    .header("x-wafl-timestamp", ts.to_string())
                    .header("x-wafl-script", req.script);
                if let Some(secret) = req.secret {
                    http = http.header(
                        "x-wafl-signature",
                        super::wire::sign::webhook_signature(secret, ts, req.body),
                    );
                }
                match http.body(req.body.to_vec()).send().await {
                    Ok(resp) if resp.status().is_success() => {
                        let bytes = resp.bytes().await.unwrap_or_default();
                        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
                    }
                    Ok(resp) => {
                        let status = resp.status();
                        // 4xx other than 408/429 will not get better by retrying.
                        let retry = status.is_server_error()
                            || status.as_u16() == 408
                            || status.as_u16() == 429;
                        Err((format!("HTTP {status}"), retry))
                    }
                    Err(e) => Err((format!("request failed: {}", without_url(&e)), true)),
                }
            }
        }
    }
}

/// reqwest errors print the URL, which may carry a token; keep only the kind.
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        let mut s = e.to_string();
        if let Some(u) = e.url() {
            s = s.replace(u.as_str(), "<url>");
        }
        s
    }
}
