//! Encoding our outbound messages as Graph API request bodies, and classifying the
//! Graph API's answers (which errors are worth a retry).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A message to send, in our terms. The engine's send effects map onto this.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutMessage {
    Text {
        body: String,
    },
    Buttons {
        body: String,
        buttons: Vec<String>,
    },
    List {
        body: String,
        button: String,
        rows: Vec<String>,
    },
    Template {
        name: String,
        lang: String,
        params: Vec<String>,
    },
    /// A WhatsApp Flows form: `flow_name` as registered, the first screen, a token
    /// bound to the card.
    Flow {
        body: String,
        flow_name: String,
        cta: String,
        token: String,
        screen: String,
    },
    /// Mark an inbound message as read.
    Read {
        message_id: String,
    },
}

impl OutMessage {
    /// Free-form messages need an open 24-hour window; templates and receipts do not.
    pub fn needs_window(&self) -> bool {
        !matches!(self, OutMessage::Template { .. } | OutMessage::Read { .. })
    }

    /// A short description for the history and logs (no message bodies by default).
    pub fn kind(&self) -> &'static str {
        match self {
            OutMessage::Text { .. } => "text",
            OutMessage::Buttons { .. } => "buttons",
            OutMessage::List { .. } => "list",
            OutMessage::Template { .. } => "template",
            OutMessage::Flow { .. } => "flow",
            OutMessage::Read { .. } => "read",
        }
    }
}

/// Ids of buttons and rows: stable, derived from the position, within WhatsApp's limits.
fn option_id(prefix: &str, i: usize) -> String {
    format!("{prefix}{i}")
}

/// Empty template parameters are rejected by WhatsApp; a zero-width space stands in.
fn param_text(p: &str) -> String {
    if p.is_empty() {
        "\u{200b}".to_string()
    } else {
        p.to_string()
    }
}

/// The JSON body of `POST /<PHONE_NUMBER_ID>/messages`.
pub fn encode(to: &str, msg: &OutMessage, callback_data: Option<&str>) -> Value {
    let mut v = match msg {
        OutMessage::Read { message_id } => {
            return json!({ "messaging_product": "whatsapp", "status": "read", "message_id": message_id });
        }
        OutMessage::Text { body } => {
            json!({ "type": "text", "text": { "body": body, "preview_url": false } })
        }
        OutMessage::Buttons { body, buttons } => json!({
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": { "text": body },
                "action": { "buttons": buttons.iter().enumerate().map(|(i, t)| json!({
                    "type": "reply", "reply": { "id": option_id("b", i), "title": t }
                })).collect::<Vec<_>>() }
            }
        }),
        OutMessage::List { body, button, rows } => json!({
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": { "text": body },
                "action": {
                    "button": button,
                    "sections": [ { "title": button, "rows": rows.iter().enumerate().map(|(i, t)| json!({
                        "id": option_id("r", i), "title": t
                    })).collect::<Vec<_>>() } ]
                }
            }
        }),
        OutMessage::Template { name, lang, params } => {
            let mut template = json!({ "name": name, "language": { "code": lang } });
            if !params.is_empty() {
                template["components"] = json!([{
                    "type": "body",
                    "parameters": params.iter().map(|p| json!({ "type": "text", "text": param_text(p) })).collect::<Vec<_>>()
                }]);
            }
            json!({ "type": "template", "template": template })
        }
        OutMessage::Flow {
            body,
            flow_name,
            cta,
            token,
            screen,
        } => json!({
            "type": "interactive",
            "interactive": {
                "type": "flow",
                "body": { "text": body },
                "action": {
                    "name": "flow",
                    "parameters": {
                        "flow_message_version": "3",
                        "flow_name": flow_name,
                        "flow_token": token,
                        "flow_cta": cta,
                        "flow_action": "navigate",
                        "flow_action_payload": { "screen": screen, "data": { "token": token } }
                    }
                }
            }
        }),
    };
    v["messaging_product"] = json!("whatsapp");
    v["recipient_type"] = json!("individual");
    v["to"] = json!(to);
    if let Some(cb) = callback_data {
        v["biz_opaque_callback_data"] = json!(cb);
    }
    v
}

/// What to do after a failed send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// A transient problem: try again after a backoff.
    Yes,
    /// The 24-hour window is closed: switch to the script's template or give up.
    WindowClosed,
    /// A permanent error: retrying cannot help.
    No,
    /// The access token expired or was revoked (190): every send of the number would
    /// fail the same way, so sending pauses until it works again.
    Paused,
}

/// Classifies a Graph API error code (`error.code`), following Meta's error reference.
pub fn classify(code: i64) -> Retry {
    match code {
        131047 => Retry::WindowClosed,
        190 => Retry::Paused,
        1 | 2 | 4 | 80007 | 130429 | 131056 | 131000 | 131016 | 133004 | 131057 => Retry::Yes,
        _ => Retry::No,
    }
}

/// The `{"error": {...}}` body of a failed Graph API call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphError {
    pub code: i64,
    pub message: String,
}

/// Parses a Graph API error body; `None` when the body is not one.
pub fn parse_error(body: &[u8]) -> Option<GraphError> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error")?;
    Some(GraphError {
        code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
        message: e
            .get("error_data")
            .and_then(|d| d.get("details"))
            .and_then(Value::as_str)
            .or_else(|| e.get("message").and_then(Value::as_str))
            .unwrap_or("")
            .to_string(),
    })
}

/// The wamid from a successful send response.
pub fn parse_sent_id(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("messages")?
        .get(0)?
        .get("id")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_buttons_lists_and_templates_as_the_graph_api_expects() {
        let b = encode(
            "+5511988887777",
            &OutMessage::Buttons {
                body: "How can we help?".into(),
                buttons: vec!["Billing".into(), "Other".into()],
            },
            Some("17"),
        );
        assert_eq!(b["messaging_product"], "whatsapp");
        assert_eq!(b["to"], "+5511988887777");
        assert_eq!(b["biz_opaque_callback_data"], "17");
        assert_eq!(
            b["interactive"]["action"]["buttons"][1]["reply"]["title"],
            "Other"
        );
        let l = encode(
            "1",
            &OutMessage::List {
                body: "Pick".into(),
                button: "Topics".into(),
                rows: vec!["A".into()],
            },
            None,
        );
        assert_eq!(
            l["interactive"]["action"]["sections"][0]["rows"][0]["title"],
            "A"
        );
        let t = encode(
            "1",
            &OutMessage::Template {
                name: "we_are_back".into(),
                lang: "pt_BR".into(),
                params: vec!["Ana".into(), String::new()],
            },
            None,
        );
        assert_eq!(t["template"]["language"]["code"], "pt_BR");
        assert_eq!(
            t["template"]["components"][0]["parameters"][0]["text"],
            "Ana"
        );
        assert_eq!(
            t["template"]["components"][0]["parameters"][1]["text"],
            "\u{200b}"
        );
        let r = encode(
            "1",
            &OutMessage::Read {
                message_id: "w1".into(),
            },
            None,
        );
        assert_eq!(r["status"], "read");
    }

    #[test]
    fn classifies_retryable_and_permanent_codes() {
        assert_eq!(classify(130429), Retry::Yes);
        assert_eq!(classify(131056), Retry::Yes);
        assert_eq!(classify(131047), Retry::WindowClosed);
        assert_eq!(classify(132001), Retry::No);
        assert_eq!(classify(100), Retry::No);
        let e = parse_error(br#"{"error":{"message":"(#131056) pair rate","code":131056,"error_data":{"details":"slow"}}}"#);
        assert_eq!(
            e,
            Some(GraphError {
                code: 131056,
                message: "slow".into()
            })
        );
        assert_eq!(
            parse_sent_id(br#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.1"}]}"#)
                .as_deref(),
            Some("wamid.1")
        );
    }
}
