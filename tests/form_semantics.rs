//! One semantics for form submissions: every submission the daemon refuses (its form
//! check, `daemon::flows::judge`) is refused by `wafl test` and by `wafl repl` too, for
//! the same inputs, and every one it accepts they accept with the same values.

#[path = "support/engine.rs"]
mod engine_support;

use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use wafl::compile::Value;
use wafl::daemon::flows::{Refusal, judge};
use wafl::daemon::store::FlowToken;
use wafl::engine::events::What;
use wafl::repl::ReplCore;
use wafl::testrun::Scenario;

const FLOW: &str = r#"
flow "Clinic" { timezone "UTC" }
field email: email invalid "That email does not look right."
field guests: number between 1 and 8
form booking "Book a visit" {
  screen "When" {
    day: date "Preferred day" after today before 2027-01-01
    period: choice "Period" "Morning", "Afternoon"
    guests
    notes: text "Anything else?" length between 2 and 50 optional
  }
  screen "Contact" {
    email
    consent: yesno "May we write to you?"
  }
}
stage desk {
  on keyword "book" { reply form booking "Pick a day" }
  on form booking submitted { reply "Booked {period} on {day} for {guests}" }
  on keyword "bye" { close "done" }
  otherwise { reply "say book" }
}
"#;

const CUSTOMER: &str = "+5511977776666";

/// A submission that passes every rule; the cases below each break one.
fn valid() -> serde_json::Map<String, Json> {
    let v = json!({"day": "2026-03-02", "period": "Afternoon", "guests": "3",
                   "email": "ana@example.com", "consent": true});
    v.as_object().cloned().unwrap_or_default()
}

/// Each case: what it breaks, the changed inputs (null removes one), the inputs refused.
fn cases() -> Vec<(&'static str, Json, Vec<&'static str>)> {
    vec![
        ("a malformed email", json!({"email": "ana@"}), vec!["email"]),
        (
            "a day in the past",
            json!({"day": "2026-01-01"}),
            vec!["day"],
        ),
        (
            "a day after the bound",
            json!({"day": "2027-02-01"}),
            vec!["day"],
        ),
        (
            "a day that does not exist",
            json!({"day": "2026-02-30"}),
            vec!["day"],
        ),
        (
            "an option the form does not offer",
            json!({"period": "Night"}),
            vec!["period"],
        ),
        (
            "a number out of range",
            json!({"guests": "80"}),
            vec!["guests"],
        ),
        (
            "text where a number goes",
            json!({"guests": "three"}),
            vec!["guests"],
        ),
        (
            "a required input left out",
            json!({"email": null}),
            vec!["email"],
        ),
        (
            "a required input left empty",
            json!({"period": "  "}),
            vec!["period"],
        ),
        (
            "an optional input too short",
            json!({"notes": "x"}),
            vec!["notes"],
        ),
        (
            "a yes/no that is neither",
            json!({"consent": "perhaps"}),
            vec!["consent"],
        ),
        (
            "a list where text goes",
            json!({"email": ["a@b.co"]}),
            vec!["email"],
        ),
        (
            "several at once",
            json!({"day": "2001-01-01", "period": "Night", "guests": "0"}),
            vec!["day", "period", "guests"],
        ),
    ]
}

fn with(changes: &Json) -> serde_json::Map<String, Json> {
    let mut v = valid();
    for (k, x) in changes.as_object().into_iter().flatten() {
        if x.is_null() {
            v.remove(k);
        } else {
            v.insert(k.clone(), x.clone());
        }
    }
    v
}

/// The daemon's verdict, with a fresh token issued for the form.
fn daemon(
    program: &wafl::compile::Program,
    values: &serde_json::Map<String, Json>,
) -> Result<BTreeMap<String, Value>, Vec<String>> {
    let token = FlowToken {
        token: "t0".into(),
        contact: CUSTOMER.into(),
        form: "booking".into(),
        card_id: 1,
        issued_ms: 0,
        used_ms: None,
    };
    let mut response = values.clone();
    response.insert("flow_token".into(), json!("t0"));
    let today = jiff::civil::date(2026, 1, 5);
    match judge(
        program,
        Some(&token),
        CUSTOMER,
        &Json::Object(response),
        1,
        1_000,
        today,
    ) {
        Ok(a) => Ok(a.values),
        Err(Refusal::Invalid(fields)) => Err(fields),
        Err(other) => panic!("refused for another reason: {other:?}"),
    }
}

/// What `wafl test` does with the same values: the refusal event, or the values set.
fn test_runner(
    program: &wafl::compile::Program,
    values: &serde_json::Map<String, Json>,
) -> Result<BTreeMap<String, Value>, Vec<String>> {
    let mut sc = Scenario::new(program);
    sc.event(wafl::engine::Event::Inbound(wafl::engine::Inbound::text(
        "book",
    )));
    // Values as a test writes them: JSON read back as flow values.
    let typed: BTreeMap<String, Value> = values
        .iter()
        .map(|(k, v)| (k.clone(), Value::from_json(v)))
        .collect();
    sc.submit("booking", &typed);
    for e in sc.last_events() {
        match &e.what {
            What::FormRefused { fields, .. } => return Err(fields.clone()),
            What::FormSubmitted { .. } => {
                let card = sc.state().card.as_ref().expect("an open card");
                let mut set = BTreeMap::new();
                for k in values.keys() {
                    if let Some(v) = card.fields.get(k) {
                        set.insert(k.clone(), v.clone());
                    }
                }
                return Ok(set);
            }
            _ => {}
        }
    }
    panic!("the submission left no trace: {:?}", sc.last_events());
}

#[test]
fn the_daemon_and_wafl_test_refuse_the_same_submissions() {
    let program = engine_support::program(FLOW);
    let ok = daemon(&program, &valid()).expect("the daemon accepts the valid submission");
    assert_eq!(ok.get("guests"), Some(&Value::Num(3.0)));
    assert_eq!(test_runner(&program, &valid()), Ok(ok));
    for (what, changes, refused) in cases() {
        let values = with(&changes);
        let expected: Vec<String> = refused.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            daemon(&program, &values),
            Err(expected.clone()),
            "daemon: {what}"
        );
        assert_eq!(
            test_runner(&program, &values),
            Err(expected),
            "wafl test: {what}"
        );
    }
}

#[test]
fn a_refused_submission_runs_no_handler_and_says_why_in_every_front() {
    let program = engine_support::program(FLOW);
    let mut sc = Scenario::new(&program);
    sc.event(wafl::engine::Event::Inbound(wafl::engine::Inbound::text(
        "book",
    )));
    let typed: BTreeMap<String, Value> = with(&json!({"email": "nope"}))
        .iter()
        .map(|(k, v)| (k.clone(), Value::from_json(v)))
        .collect();
    sc.submit("booking", &typed);
    assert_eq!(
        engine_support::sent(&sc),
        ["That email does not look right."],
        "the field's `invalid` message, not the handler's reply"
    );
    assert!(
        sc.state()
            .card
            .as_ref()
            .is_some_and(|c| c.fields.is_empty())
    );
}

#[test]
fn the_repl_refuses_what_the_daemon_refuses() {
    let program = engine_support::program(FLOW);
    let dir = std::env::temp_dir().join(format!("wafl-form-semantics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("clinic.flow");
    std::fs::write(&path, FLOW).expect("flow written");
    for (what, changes, refused) in cases() {
        if changes
            .as_object()
            .into_iter()
            .flatten()
            .any(|(_, v)| v.is_array())
        {
            continue; // a JSON list cannot be typed at the prompt
        }
        let values = with(&changes);
        assert!(daemon(&program, &values).is_err(), "{what}");
        let (mut repl, report) = ReplCore::new(Some(path.clone()));
        assert!(!report.contains("error"), "{report}");
        repl.eval_line("book");
        let typed: Vec<String> = values
            .iter()
            .map(|(k, v)| match v {
                Json::String(s) => format!("{k}: \"{s}\""),
                other => format!("{k}: {other}"),
            })
            .collect();
        let out = repl.eval_line(&format!(":submit booking {}", typed.join(", ")));
        let named: Vec<String> = refused.iter().map(|f| format!("`{f}`")).collect();
        assert!(
            out.contains(&format!("submission refused: {} break", named.join(", "))),
            "{what}: {out}"
        );
        assert!(!out.contains("Booked"), "{what}: no handler ran: {out}");
    }
    let (mut repl, _) = ReplCore::new(Some(path.clone()));
    repl.eval_line("book");
    let out = repl.eval_line(
        ":submit booking day: 2026-03-02, period: afternoon, guests: 3, email: \"ana@example.com\", consent: true",
    );
    assert!(
        out.contains("Booked Afternoon on 2026-03-02 for 3"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
