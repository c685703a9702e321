//! The network side of AI steps: one request to an OpenAI-compatible chat completions
//! endpoint, with a timeout per attempt and retries on 429, 5xx and timeouts, turned into
//! the [`AiResult`] event the engine takes. Whether the answer is one of the script's
//! choices is decided by the engine, not here; this module only reports the raw text.
//!
//! Self-contained so that any front can use it: the daemon performs `AskAi` effects with
//! it, and tests run it against a fake server on 127.0.0.1.
//!
//! **Invariant:** the API key is never logged or shown; `Debug` prints `***`.

use crate::engine::{AiResult, EffectKind};
use std::time::Duration;

/// The longest raw answer kept; a model that writes essays is not answering.
const MAX_ANSWER: usize = 2000;
/// The longest wait a `Retry-After` header may ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// One AI request, as an `AskAi` effect describes it, with the key read by the caller.
#[derive(Clone)]
pub struct AiRequest {
    pub url: String,
    pub model: String,
    /// The bearer token; `None` for endpoints without authentication.
    pub key: Option<String>,
    pub system: String,
    pub user: String,
    /// The limit of each attempt.
    pub timeout: Duration,
    /// Attempts after the first one.
    pub retries: u32,
    /// The pause before the first retry; doubled for each next one.
    pub backoff: Duration,
}

impl std::fmt::Debug for AiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiRequest")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("key", &self.key.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl AiRequest {
    /// The request of an `AskAi` effect; `env` reads the key's environment variable (the
    /// daemon passes `std::env::var`, tests a map). `None` for any other effect.
    pub fn from_effect(
        effect: &EffectKind,
        env: impl Fn(&str) -> Option<String>,
    ) -> Option<AiRequest> {
        let EffectKind::AskAi {
            url,
            model,
            key_env,
            timeout_secs,
            retries,
            system,
            user,
            ..
        } = effect
        else {
            return None;
        };
        Some(AiRequest {
            url: url.clone(),
            model: model.clone(),
            key: key_env.as_deref().and_then(env),
            system: system.clone(),
            user: user.clone(),
            timeout: Duration::from_secs(u64::try_from(*timeout_secs).unwrap_or(10).max(1)),
            retries: *retries,
            backoff: Duration::from_millis(500),
        })
    }

    /// The JSON body: the system prompt, the customer's message, deterministic sampling.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "model": self.model,
            "messages": [
                { "role": "system", "content": self.system },
                { "role": "user", "content": self.user },
            ],
            "temperature": 0,
            "max_tokens": 50,
        })
    }
}

/// Why one attempt did not give an answer, and whether another attempt may.
#[derive(Debug)]
enum Attempt {
    Answer(String),
    Retry(String, Option<Duration>),
    Fail(String),
}

/// Sends the request, retrying what may succeed later; never panics, never hangs past
/// `(retries + 1) * timeout` plus the pauses.
pub async fn ask(client: &reqwest::Client, req: &AiRequest) -> AiResult {
    let mut pause = req.backoff;
    let mut last = String::from("no attempt made");
    for attempt in 0..=req.retries {
        match once(client, req).await {
            Attempt::Answer(raw) => return AiResult::Answered { raw },
            Attempt::Fail(reason) => return AiResult::Failed { reason },
            Attempt::Retry(reason, after) => {
                last = reason;
                if attempt < req.retries {
                    tokio::time::sleep(after.unwrap_or(pause).min(MAX_RETRY_AFTER)).await;
                    pause = pause.saturating_mul(2);
                }
            }
        }
    }
    AiResult::Failed {
        reason: format!("{last} (after {} attempts)", req.retries + 1),
    }
}

async fn once(client: &reqwest::Client, req: &AiRequest) -> Attempt {
    let mut r = client.post(&req.url).timeout(req.timeout).json(&req.body());
    if let Some(key) = &req.key {
        r = r.bearer_auth(key);
    }
    let resp = match r.send().await {
        Ok(resp) => resp,
        Err(e) if e.is_timeout() => return Attempt::Retry("timeout".into(), None),
        Err(e) if e.is_connect() => return Attempt::Retry("cannot connect".into(), None),
        Err(_) => return Attempt::Retry("request failed".into(), None),
    };
    let status = resp.status();
    if status.as_u16() == 429 || status.is_server_error() {
        let after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        return Attempt::Retry(format!("http {}", status.as_u16()), after);
    }
    if !status.is_success() {
        return Attempt::Fail(format!("http {}", status.as_u16()));
    }
    let text = match resp.text().await {
        Ok(t) => t,
        Err(e) if e.is_timeout() => return Attempt::Retry("timeout".into(), None),
        Err(_) => return Attempt::Retry("the answer was cut off".into(), None),
    };
    match content(&text) {
        Some(raw) => Attempt::Answer(raw),
        None => Attempt::Fail("malformed answer: no choices[0].message.content".into()),
    }
}

/// `choices[0].message.content` of a chat completions answer, cut to a sane length.
pub fn content(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let s = v
        .get("choices")?
        .get(0)?
        .get("message")?
        .get("content")?
        .as_str()?;
    Some(s.chars().take(MAX_ANSWER).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_content_of_the_first_choice() {
        let ok = r#"{"choices":[{"message":{"role":"assistant","content":"refund"}}]}"#;
        assert_eq!(content(ok).as_deref(), Some("refund"));
        assert_eq!(content("{\"choices\":[]}"), None);
        assert_eq!(content("not json"), None);
        assert_eq!(content(r#"{"choices":[{"message":{"content":3}}]}"#), None);
    }

    #[test]
    fn the_key_never_prints() {
        let r = AiRequest {
            url: "http://127.0.0.1:1/v1/chat/completions".into(),
            model: "m".into(),
            key: Some("sk-secret".into()),
            system: String::new(),
            user: String::new(),
            timeout: Duration::from_secs(1),
            retries: 0,
            backoff: Duration::from_millis(1),
        };
        assert!(!format!("{r:?}").contains("sk-secret"));
    }
}
