//! Stable handler identity: keys and fingerprints survive edits elsewhere in a script and
//! change exactly when the handler's own trigger or code does.

#[path = "support/engine.rs"]
mod support;

use std::collections::BTreeMap;
use support::program;
use wafl::compile::{HandlerKey, Program};

/// Every handler's key with its fingerprint.
fn identities(p: &Program) -> BTreeMap<HandlerKey, String> {
    p.handlers()
        .map(|(_, h)| (h.key.clone(), h.fingerprint.clone()))
        .collect()
}

fn key(stage: Option<&str>, trigger: &str) -> HandlerKey {
    HandlerKey {
        stage: stage.map(str::to_string),
        trigger: trigger.to_string(),
        sla: None,
    }
}

const BASE: &str = r#"
flow "Identity" { timezone "UTC" }
hours office { mon-fri 09:00-18:00 }
team billing { agents "ana@acme.com" }
field order: text matching /^[A-Z]{2}[0-9]{6}$/

stage triage {
  on keyword "refund", "Reembolso" {
    ask order "Your order number?" tries 2 else { handoff billing }
    route billing
    goto service
  }
  on message when inside office { reply "We are here." }
  after 10m silence { reply "Still there?" }
  otherwise { reply "How can we help?" }
}

stage service {
  on enter { reply "An agent will answer." }
  otherwise { reply "Noted." }
}
"#;

#[test]
fn keys_name_the_scope_and_the_canonical_trigger() {
    let p = program(BASE);
    let ids = identities(&p);
    let expected = [
        key(Some("triage"), r#"keyword "refund","reembolso""#),
        key(Some("triage"), "message if inside office"),
        key(Some("triage"), "after 600s silence"),
        key(Some("triage"), "otherwise"),
        key(Some("service"), "enter"),
        key(Some("service"), "otherwise"),
    ];
    for k in &expected {
        assert!(
            ids.contains_key(k),
            "missing key {k}; keys: {:#?}",
            ids.keys()
        );
    }
    assert_eq!(ids.len(), expected.len());
    for (_, h) in p.handlers() {
        assert_eq!(h.fingerprint.len(), 16, "fingerprint of {}", h.key);
        let (_, found) = p.handler_by_key(&h.key).expect("every key resolves");
        assert_eq!(found.span, h.span);
    }
}

#[test]
fn inserting_handlers_stages_and_hours_elsewhere_changes_no_identity() {
    let before = identities(&program(BASE));
    let edited = BASE
        .replace(
            "hours office {",
            "hours night { mon-sun 22:00-06:00 }\nhours office {",
        )
        .replace(
            "stage triage {\n",
            "stage intro {\n  otherwise { goto triage }\n}\n\nstage triage {\n  on keyword \"invoice\" { reply \"Billing.\" }\n",
        );
    let after = identities(&program(&edited));
    for (k, fp) in &before {
        assert_eq!(after.get(k), Some(fp), "identity of {k} changed");
    }
    assert_eq!(after.len(), before.len() + 2);
}

#[test]
fn editing_a_body_changes_its_fingerprint_only() {
    let before = identities(&program(BASE));
    let edited = BASE.replace(
        "tries 2 else { handoff billing }",
        "tries 3 else { handoff billing }",
    );
    let after = identities(&program(&edited));
    let asked = key(Some("triage"), r#"keyword "refund","reembolso""#);
    assert_ne!(before.get(&asked), after.get(&asked));
    for (k, fp) in &before {
        if *k != asked {
            assert_eq!(after.get(k), Some(fp), "identity of {k} changed");
        }
    }
}

#[test]
fn layout_and_comments_do_not_count() {
    let before = identities(&program(BASE));
    let edited = BASE
        .replace(
            "{ reply \"We are here.\" }",
            "{\n    // greet\n    reply \"We are here.\"\n  }",
        )
        .replace("after 10m silence", "after 600s silence");
    assert_eq!(identities(&program(&edited)), before);
}

#[test]
fn a_changed_trigger_is_another_handler() {
    let edited = BASE.replace("\"refund\", \"Reembolso\"", "\"refund\"");
    let after = identities(&program(&edited));
    assert!(!after.contains_key(&key(Some("triage"), r#"keyword "refund","reembolso""#)));
    assert!(after.contains_key(&key(Some("triage"), r#"keyword "refund""#)));
}

#[test]
fn repeated_triggers_are_told_apart_by_ordinal() {
    let src = r#"
flow "Twice" { timezone "UTC" }
stage s {
  after 1h silence { reply "one" }
  after 1h silence { reply "two" }
  otherwise { reply "x" }
}
anywhere {
  after 1h silence { reply "three" }
}
"#;
    let p = program(src);
    let ids = identities(&p);
    assert!(ids.contains_key(&key(Some("s"), "after 3600s silence")));
    assert!(ids.contains_key(&key(Some("s"), "after 3600s silence #2")));
    assert!(ids.contains_key(&key(None, "after 3600s silence")));
    assert_eq!(p.handler_keys.len(), 4);
}

#[test]
fn every_example_has_unique_keys() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("flow") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("read");
        let p = program(&src);
        let total = p.handlers().count();
        assert_eq!(p.handler_keys.len(), total, "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 4);
}
