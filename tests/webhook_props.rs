//! Fuzzing the webhook decoder: random bytes, random JSON, and mutated real webhook
//! bodies never make it panic, and whatever it returns keeps every message it could read.

use proptest::prelude::*;
use serde_json::{Value, json};
use wafl::daemon::wire::inbound::{self, Inbound};

/// Cases per property: `WAFL_FUZZ_CASES` raises it for long fuzzing runs.
fn fuzz_cases(default: u32) -> u32 {
    std::env::var("WAFL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sample() -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "W", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": "PNID"},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5511988887777"}],
            "messages": [
                {"from": "5511988887777", "id": "w1", "timestamp": "1700000000", "type": "text", "text": {"body": "oi"}},
                {"from": "5511988887777", "id": "w2", "timestamp": "1700000001", "type": "interactive",
                 "interactive": {"type": "button_reply", "button_reply": {"id": "b", "title": "Billing"}}},
                {"from": "5511988887777", "id": "w3", "timestamp": "1700000002", "type": "location",
                 "location": {"latitude": -23.5, "longitude": "-46.6"}},
                {"from": "5511988887777", "id": "w4", "timestamp": "1700000003", "type": "interactive",
                 "interactive": {"type": "nfm_reply", "nfm_reply": {"response_json": "{\"flow_token\":\"t\"}"}}}
            ],
            "statuses": [{"id": "o1", "status": "failed", "timestamp": "1", "recipient_id": "5511",
                          "errors": [{"code": 131047, "title": "t", "error_data": {"details": "d"}}]}],
            "errors": [{"code": 130429, "title": "rate"}]
        }}]}]
    })
}

/// A random JSON value of bounded depth.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("entry".to_string()),
                    Just("changes".to_string()),
                    Just("value".to_string()),
                    Just("messages".to_string()),
                    Just("type".to_string()),
                    Just("id".to_string()),
                    Just("from".to_string()),
                    ".{0,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a random place of `v` (walking by `path` choices) with `new`.
fn mutate(v: &mut Value, path: &[usize], new: Value) {
    let Some((&first, rest)) = path.split_first() else {
        *v = new;
        return;
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(first % m.len()).cloned().unwrap_or_default();
            if let Some(child) = m.get_mut(&key) {
                mutate(child, rest, new);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = first % a.len();
            mutate(&mut a[i], rest, new);
        }
        _ => *v = new,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases(500)))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = inbound::decode(&bytes);
        let _ = inbound::verify_signature(b"s", &bytes, std::str::from_utf8(&bytes).ok());
    }

    #[test]
    fn random_json_never_panics(v in any_json()) {
        let _ = inbound::decode(v.to_string().as_bytes());
        let wrapped = json!({"entry": [{"changes": [{"field": "messages", "value": v}]}]});
        let _ = inbound::decode(wrapped.to_string().as_bytes());
    }

    #[test]
    fn mutated_webhooks_never_panic_and_keep_what_they_can(
        path in prop::collection::vec(any::<usize>(), 0..9),
        new in any_json(),
    ) {
        let mut v = sample();
        mutate(&mut v, &path, new);
        let body = v.to_string();
        match inbound::decode(body.as_bytes()) {
            Ok(items) => {
                // Every item is either decoded or kept raw: nothing vanishes silently
                // while the envelope is intact.
                for item in &items {
                    if let Inbound::Message(m) = item {
                        prop_assert!(!m.id.is_empty());
                        prop_assert!(!m.from.is_empty());
                    }
                }
            }
            Err(_) => prop_assert!(v.get("entry").and_then(Value::as_array).is_none()),
        }
        // Truncated bodies are rejected cleanly, never a panic.
        for cut in [body.len() / 3, body.len() / 2, body.len().saturating_sub(1)] {
            let end = (0..=cut).rev().find(|&i| body.is_char_boundary(i)).unwrap_or(0);
            let _ = inbound::decode(&body.as_bytes()[..end]);
        }
    }
}

#[test]
fn the_unmutated_sample_decodes_fully() {
    let items = inbound::decode(sample().to_string().as_bytes()).expect("a webhook");
    let messages = items
        .iter()
        .filter(|i| matches!(i, Inbound::Message(_)))
        .count();
    let statuses = items
        .iter()
        .filter(|i| matches!(i, Inbound::Status(_)))
        .count();
    let errors = items
        .iter()
        .filter(|i| matches!(i, Inbound::Error(_)))
        .count();
    assert_eq!((messages, statuses, errors), (4, 1, 1));
}
