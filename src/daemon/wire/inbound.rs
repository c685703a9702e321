//! Decoding WhatsApp Cloud API webhook bodies into our inbound items.
//!
//! The decoder is tolerant by design: Meta adds message types and fields over time, and
//! one odd entry must never cost the rest of a batch. Anything it does not understand
//! becomes [`Inbound::Unknown`] with the raw JSON kept, so it can be stored and logged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One thing a webhook POST told us.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Inbound {
    Message(InMessage),
    Status(InStatus),
    /// `value.errors[]`: a problem of the app or the account, not tied to a message.
    Error(WireError),
    /// A change we do not handle (another `field`, an unexpected shape).
    Unknown {
        field: String,
        raw: Value,
    },
}

/// A message a customer sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InMessage {
    /// The wamid: the deduplication key.
    pub id: String,
    /// The sender: phone number (`from`), or the business-scoped user id when WhatsApp
    /// omits the number.
    pub from: String,
    pub profile_name: Option<String>,
    /// Unix seconds, as WhatsApp stamped the message.
    pub timestamp: i64,
    /// The business number the message reached (replies go out from it).
    pub phone_number_id: String,
    /// The wamid of the message this one answers (button taps, form completions).
    pub context_id: Option<String>,
    pub content: Content,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Content {
    Text(String),
    /// An interactive reply-button tap.
    ButtonReply {
        id: String,
        title: String,
    },
    /// An interactive list-row choice.
    ListReply {
        id: String,
        title: String,
    },
    /// A quick-reply button of a template message.
    TemplateButton {
        payload: String,
        text: String,
    },
    /// A WhatsApp Flows completion: `response_json` is itself a JSON string.
    FlowReply {
        response_json: String,
    },
    Media {
        kind: MediaType,
        media_id: String,
        mime_type: Option<String>,
        caption: Option<String>,
        filename: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    },
    /// Shared contact cards; only their number is kept here (the raw JSON is stored).
    Contacts {
        count: usize,
    },
    /// A reaction; `emoji` is `None` when the customer removed it.
    Reaction {
        message_id: String,
        emoji: Option<String>,
    },
    /// A message type WhatsApp could not deliver to us (`unsupported`/`unknown`).
    Unsupported {
        errors: Vec<WireError>,
    },
    /// A type this decoder does not know yet.
    Other {
        kind: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaType {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

/// A delivery receipt for a message we sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InStatus {
    /// The wamid of our outbound message.
    pub id: String,
    pub status: StatusKind,
    pub timestamp: i64,
    pub recipient: String,
    /// `biz_opaque_callback_data`: we set it to our outbox id when sending.
    pub callback_data: Option<String>,
    pub errors: Vec<WireError>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatusKind {
    Sent,
    Delivered,
    Read,
    Played,
    Failed,
    Deleted,
    Other(String),
}

impl StatusKind {
    pub fn as_str(&self) -> &str {
        match self {
            StatusKind::Sent => "sent",
            StatusKind::Delivered => "delivered",
            StatusKind::Read => "read",
            StatusKind::Played => "played",
            StatusKind::Failed => "failed",
            StatusKind::Deleted => "deleted",
            StatusKind::Other(s) => s,
        }
    }

    fn parse(s: &str) -> StatusKind {
        match s {
            "sent" => StatusKind::Sent,
            "delivered" => StatusKind::Delivered,
            "read" => StatusKind::Read,
            "played" => StatusKind::Played,
            "failed" => StatusKind::Failed,
            "deleted" => StatusKind::Deleted,
            other => StatusKind::Other(other.to_string()),
        }
    }
}

/// An error object, in the current (`message`, `error_data.details`) or the older
/// (`details`) shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    pub code: i64,
    pub title: String,
    pub details: String,
}

/// Why a body could not be decoded at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not JSON: the message says where.
    NotJson(String),
    /// JSON, but not an object with `"entry"`.
    NotAWebhook,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::NotJson(e) => write!(f, "body is not JSON: {e}"),
            DecodeError::NotAWebhook => {
                f.write_str("body is JSON but not a WhatsApp webhook (no `entry` array)")
            }
        }
    }
}

fn s(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(x) => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn num(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(x) => x.trim().parse().ok(),
        _ => None,
    }
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn timestamp(v: &Value) -> i64 {
    num(v, "timestamp").map(|t| t as i64).unwrap_or(0)
}

fn errors(v: &Value) -> Vec<WireError> {
    arr(v, "errors")
        .iter()
        .map(|e| WireError {
            code: num(e, "code").map(|c| c as i64).unwrap_or(0),
            title: s(e, "title").unwrap_or_default(),
            details: e
                .get("error_data")
                .and_then(|d| s(d, "details"))
                .or_else(|| s(e, "details"))
                .or_else(|| s(e, "message"))
                .unwrap_or_default(),
        })
        .collect()
}

/// Decodes a webhook body. Only a body that is not a webhook at all is an error; every
/// entry inside is decoded on its own.
pub fn decode(body: &[u8]) -> Result<Vec<Inbound>, DecodeError> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let entries = root
        .get("entry")
        .and_then(Value::as_array)
        .ok_or(DecodeError::NotAWebhook)?;
    let mut out = Vec::new();
    for entry in entries {
        for change in arr(entry, "changes") {
            let field = s(change, "field").unwrap_or_default();
            let Some(value) = change.get("value") else {
                out.push(Inbound::Unknown {
                    field,
                    raw: change.clone(),
                });
                continue;
            };
            if field != "messages" {
                out.push(Inbound::Unknown {
                    field,
                    raw: value.clone(),
                });
                continue;
            }
            decode_messages_value(value, &mut out);
        }
    }
    Ok(out)
}

fn decode_messages_value(value: &Value, out: &mut Vec<Inbound>) {
    let phone_number_id = value
        .get("metadata")
        .and_then(|m| s(m, "phone_number_id"))
        .unwrap_or_default();
    let contacts = arr(value, "contacts");
    for m in arr(value, "messages") {
        let from = s(m, "from").or_else(|| s(m, "from_user_id"));
        let (Some(id), Some(from)) = (s(m, "id"), from) else {
            out.push(Inbound::Unknown {
                field: "messages".into(),
                raw: m.clone(),
            });
            continue;
        };
        let profile_name = contacts
            .iter()
            .find(|c| {
                s(c, "wa_id").as_deref() == Some(from.as_str())
                    || s(c, "user_id").as_deref() == Some(from.as_str())
            })
            .or(contacts.first())
            .and_then(|c| c.get("profile"))
            .and_then(|p| s(p, "name"));
        out.push(Inbound::Message(InMessage {
            id,
            from,
            profile_name,
            timestamp: timestamp(m),
            phone_number_id: phone_number_id.clone(),
            context_id: m.get("context").and_then(|c| s(c, "id")),
            content: content(m),
        }));
    }
    for st in arr(value, "statuses") {
        let (Some(id), Some(status)) = (s(st, "id"), s(st, "status")) else {
            out.push(Inbound::Unknown {
                field: "statuses".into(),
                raw: st.clone(),
            });
            continue;
        };
        out.push(Inbound::Status(InStatus {
            id,
            status: StatusKind::parse(&status),
            timestamp: timestamp(st),
            recipient: s(st, "recipient_id").unwrap_or_default(),
            callback_data: s(st, "biz_opaque_callback_data"),
            errors: errors(st),
        }));
    }
    for e in errors(value) {
        out.push(Inbound::Error(e));
    }
}

fn content(m: &Value) -> Content {
    let kind = s(m, "type").unwrap_or_default();
    let body = m.get(kind.as_str());
    let get = |k: &str| body.and_then(|b| s(b, k));
    let media = |t: MediaType| match get("id") {
        Some(media_id) => Content::Media {
            kind: t,
            media_id,
            mime_type: get("mime_type"),
            caption: get("caption"),
            filename: get("filename"),
        },
        None => Content::Other { kind: kind.clone() },
    };
    match kind.as_str() {
        "text" => get("body")
            .map(Content::Text)
            .unwrap_or(Content::Other { kind }),
        "image" => media(MediaType::Image),
        "video" => media(MediaType::Video),
        "audio" => media(MediaType::Audio),
        "document" => media(MediaType::Document),
        "sticker" => media(MediaType::Sticker),
        "location" => match body.and_then(|b| Some((num(b, "latitude")?, num(b, "longitude")?))) {
            Some((latitude, longitude)) => Content::Location {
                latitude,
                longitude,
                name: get("name"),
                address: get("address"),
            },
            None => Content::Other { kind },
        },
        "contacts" => Content::Contacts {
            count: arr(m, "contacts").len(),
        },
        "reaction" => Content::Reaction {
            message_id: get("message_id").unwrap_or_default(),
            emoji: get("emoji").filter(|e| !e.is_empty()),
        },
        "button" => Content::TemplateButton {
            payload: get("payload").unwrap_or_default(),
            text: get("text").unwrap_or_default(),
        },
        "interactive" => {
            let Some(b) = body else {
                return Content::Other { kind };
            };
            match s(b, "type").as_deref() {
                Some("button_reply") => match b.get("button_reply") {
                    Some(r) => Content::ButtonReply {
                        id: s(r, "id").unwrap_or_default(),
                        title: s(r, "title").unwrap_or_default(),
                    },
                    None => Content::Other { kind },
                },
                Some("list_reply") => match b.get("list_reply") {
                    Some(r) => Content::ListReply {
                        id: s(r, "id").unwrap_or_default(),
                        title: s(r, "title").unwrap_or_default(),
                    },
                    None => Content::Other { kind },
                },
                Some("nfm_reply") => match b.get("nfm_reply").and_then(|r| s(r, "response_json")) {
                    Some(response_json) => Content::FlowReply { response_json },
                    None => Content::Other { kind },
                },
                Some(other) => Content::Other {
                    kind: format!("interactive/{other}"),
                },
                None => Content::Other { kind },
            }
        }
        "unsupported" | "unknown" => Content::Unsupported { errors: errors(m) },
        _ => Content::Other { kind },
    }
}

pub use super::sign::{sign, verify_signature};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_published_test_vector() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let expected = "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756";
        assert_eq!(sign(b"test_app_secret", body), expected);
        assert!(verify_signature(b"test_app_secret", body, Some(expected)));
        assert!(!verify_signature(b"other", body, Some(expected)));
        assert!(!verify_signature(b"test_app_secret", body, None));
        assert!(!verify_signature(
            b"test_app_secret",
            body,
            Some("sha256=zz")
        ));
        assert!(!verify_signature(
            b"test_app_secret",
            body,
            Some(&expected[7..])
        ));
    }

    fn wrap(value: &str) -> String {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1555","phone_number_id":"PNID"}},{value}}}}}]}}]}}"#
        )
    }

    #[test]
    fn decodes_every_message_type() {
        let body = wrap(
            r#""contacts":[{"profile":{"name":"Ana"},"wa_id":"5511988887777"}],
            "messages":[
              {"from":"5511988887777","id":"w1","timestamp":"1700000000","type":"text","text":{"body":"oi"}},
              {"from":"5511988887777","id":"w2","timestamp":"1700000001","type":"interactive","context":{"from":"1555","id":"out1"},"interactive":{"type":"button_reply","button_reply":{"id":"b1","title":"Billing"}}},
              {"from":"5511988887777","id":"w3","timestamp":"1700000002","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r1","title":"Delivery","description":"d"}}},
              {"from":"5511988887777","id":"w4","timestamp":"1700000003","type":"button","button":{"payload":"p","text":"Yes"}},
              {"from":"5511988887777","id":"w5","timestamp":"1700000004","type":"image","image":{"id":"m1","mime_type":"image/jpeg","sha256":"x","caption":"c"}},
              {"from":"5511988887777","id":"w6","timestamp":"1700000005","type":"location","location":{"latitude":"-23.5","longitude":-46.6,"name":"Home"}},
              {"from":"5511988887777","id":"w7","timestamp":"1700000006","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent","response_json":"{\"flow_token\":\"t\"}"}}},
              {"from":"5511988887777","id":"w8","timestamp":"1700000007","type":"reaction","reaction":{"message_id":"out1"}},
              {"from":"5511988887777","id":"w9","timestamp":"1700000008","type":"unsupported","errors":[{"code":131051,"details":"Message type unknown","title":"Unsupported"}]},
              {"from":"5511988887777","id":"w10","timestamp":"1700000009","type":"hologram","hologram":{}},
              {"from":"5511988887777","id":"w11","timestamp":"1700000010","type":"contacts","contacts":[{},{}]},
              {"from":"5511988887777","id":"w12","timestamp":"1700000011","type":"document","document":{"id":"m2","filename":"a.pdf"}}
            ]"#,
        );
        let items = decode(body.as_bytes()).expect("valid webhook");
        let contents: Vec<Content> = items
            .iter()
            .map(|i| match i {
                Inbound::Message(m) => m.content.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(contents[0], Content::Text("oi".into()));
        assert_eq!(
            contents[1],
            Content::ButtonReply {
                id: "b1".into(),
                title: "Billing".into()
            }
        );
        assert!(matches!(&contents[2], Content::ListReply { title, .. } if title == "Delivery"));
        assert!(matches!(&contents[3], Content::TemplateButton { text, .. } if text == "Yes"));
        assert!(
            matches!(&contents[4], Content::Media { kind: MediaType::Image, caption: Some(c), .. } if c == "c")
        );
        assert!(
            matches!(&contents[5], Content::Location { latitude, .. } if (*latitude + 23.5).abs() < 1e-9)
        );
        assert!(
            matches!(&contents[6], Content::FlowReply { response_json } if response_json.contains("flow_token"))
        );
        assert!(matches!(
            &contents[7],
            Content::Reaction { emoji: None, .. }
        ));
        assert!(
            matches!(&contents[8], Content::Unsupported { errors } if errors[0].code == 131051)
        );
        assert!(matches!(&contents[9], Content::Other { kind } if kind == "hologram"));
        assert_eq!(contents[10], Content::Contacts { count: 2 });
        assert!(
            matches!(&contents[11], Content::Media { kind: MediaType::Document, filename: Some(f), .. } if f == "a.pdf")
        );
        let Inbound::Message(first) = &items[0] else {
            unreachable!()
        };
        assert_eq!(first.profile_name.as_deref(), Some("Ana"));
        assert_eq!(first.timestamp, 1_700_000_000);
        assert_eq!(first.phone_number_id, "PNID");
        let Inbound::Message(second) = &items[1] else {
            unreachable!()
        };
        assert_eq!(second.context_id.as_deref(), Some("out1"));
    }

    #[test]
    fn decodes_statuses_and_errors() {
        let body = wrap(
            r#""statuses":[
                {"id":"out1","status":"delivered","timestamp":"1700000000","recipient_id":"55119"},
                {"id":"out2","status":"failed","timestamp":"1700000001","recipient_id":"55119","biz_opaque_callback_data":"42",
                 "errors":[{"code":131047,"title":"Re-engagement message","message":"m","error_data":{"details":"more than 24 hours"}}]}
              ],
              "errors":[{"code":130429,"title":"Rate limit hit","message":"x","error_data":{"details":"slow down"}}]"#,
        );
        let items = decode(body.as_bytes()).expect("valid webhook");
        assert_eq!(items.len(), 3);
        let Inbound::Status(failed) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(failed.status, StatusKind::Failed);
        assert_eq!(failed.callback_data.as_deref(), Some("42"));
        assert_eq!(failed.errors[0].code, 131047);
        assert_eq!(failed.errors[0].details, "more than 24 hours");
        assert!(matches!(&items[2], Inbound::Error(e) if e.code == 130429));
    }

    #[test]
    fn other_fields_and_odd_shapes_are_kept_not_fatal() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"changes":[
            {"field":"flows","value":{"event":"FLOW_STATUS_CHANGE"}},
            {"field":"messages","value":{"messages":[{"type":"text"}], "statuses":[{"status":"sent"}]}},
            {"field":"messages"}
        ]}]}"#;
        let items = decode(body.as_bytes()).expect("still a webhook");
        assert_eq!(items.len(), 4);
        assert!(items.iter().all(|i| matches!(i, Inbound::Unknown { .. })));
        assert!(matches!(decode(b"not json"), Err(DecodeError::NotJson(_))));
        assert_eq!(decode(b"[1,2]"), Err(DecodeError::NotAWebhook));
    }
}
