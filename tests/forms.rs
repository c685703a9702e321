//! The Flow JSON of forms: golden files of every form in `examples/`, each validated
//! against `docs/flow-json.schema.json` and against the Flow JSON rules a schema cannot
//! express; and the schema itself, shown to refuse what Meta refuses.

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use wafl::compile::{bundle, forms};
use wafl::session::analyze;
use wafl::syntax::ast::Item;
use wafl::syntax::span::FileId;

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string("docs/flow-json.schema.json").expect("the schema exists");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

/// Schema errors of one document, as readable lines.
fn schema_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The rules of Flow JSON that a JSON Schema cannot state: unique screen ids, unique
/// input names per screen, navigate targets that exist, navigate payloads whose keys are
/// the next screen's data model, and bindings that name an input of the screen or a key
/// of its data model.
fn cross_rules(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let screens = doc["screens"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = screens.iter().filter_map(|s| s["id"].as_str()).collect();
    if ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
        problems.push(format!("screen ids repeat: {ids:?}"));
    }
    for screen in &screens {
        let id = screen["id"].as_str().unwrap_or("?");
        let children = screen["layout"]["children"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let names: Vec<&str> = children.iter().filter_map(|c| c["name"].as_str()).collect();
        let name_set: BTreeSet<&str> = names.iter().copied().collect();
        if name_set.len() != names.len() {
            problems.push(format!("{id}: input names repeat: {names:?}"));
        }
        let data_keys: BTreeSet<String> = screen["data"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for c in &children {
            let action = &c["on-click-action"];
            let Some(payload) = action["payload"].as_object() else {
                continue;
            };
            for (key, value) in payload {
                let binding = value.as_str().unwrap_or("");
                let ok = if let Some(x) = binding
                    .strip_prefix("${form.")
                    .and_then(|r| r.strip_suffix('}'))
                {
                    name_set.contains(x)
                } else if let Some(x) = binding
                    .strip_prefix("${data.")
                    .and_then(|r| r.strip_suffix('}'))
                {
                    data_keys.contains(x)
                } else {
                    false
                };
                if !ok {
                    problems.push(format!(
                        "{id}: payload `{key}` binds `{binding}`, unknown here"
                    ));
                }
            }
            if action["name"] == "navigate" {
                let next = action["next"]["name"].as_str().unwrap_or("");
                match screens.iter().find(|s| s["id"] == next) {
                    None => problems.push(format!("{id}: navigates to unknown screen `{next}`")),
                    Some(target) => {
                        let want: BTreeSet<String> = target["data"]
                            .as_object()
                            .map(|m| m.keys().cloned().collect())
                            .unwrap_or_default();
                        let got: BTreeSet<String> = payload.keys().cloned().collect();
                        if want != got {
                            problems.push(format!(
                                "{id}: payload {got:?} does not match the data of `{next}`: {want:?}"
                            ));
                        }
                    }
                }
            }
        }
    }
    problems
}

/// The Flow JSON of every form of a script that checks clean.
fn forms_of(name: &str, src: &str) -> Vec<(String, Value)> {
    let a = analyze(FileId(0), src);
    assert!(
        !a.has_errors(),
        "{name} has errors: {:#?}",
        a.diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect::<Vec<_>>()
    );
    a.parsed
        .file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Form(f) => Some((
                f.name.name.clone(),
                forms::flow_json(&a.parsed.file, &a.checked.symbols, f),
            )),
            _ => None,
        })
        .collect()
}

fn examples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir("examples")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "flow"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn every_form_of_every_example_is_valid_flow_json() {
    let v = schema();
    for path in examples() {
        let src = std::fs::read_to_string(&path).expect("example is readable");
        let name = stem(&path);
        for (form, flow) in forms_of(&name, &src) {
            let errors = schema_errors(&v, &flow);
            assert!(errors.is_empty(), "{name}/{form}: {errors:#?}");
            let broken = cross_rules(&flow);
            assert!(broken.is_empty(), "{name}/{form}: {broken:#?}");
            insta::assert_json_snapshot!(format!("{name}__{form}"), flow);
        }
    }
}

#[test]
fn bundles_of_examples_carry_their_forms_and_hash() {
    for path in examples() {
        let src = std::fs::read_to_string(&path).expect("example is readable");
        let a = analyze(FileId(0), &src);
        let b = bundle::build("x.flow", &src, &a.parsed.file, &a.checked.symbols);
        assert_eq!(b.hash, bundle::content_hash(&src));
        assert_eq!(b.json["source"], json!(src));
        for (form, flow) in &b.forms {
            assert_eq!(&b.json["forms"][form], flow);
        }
    }
}

/// A form that exercises every input kind and three screens.
const ALL_KINDS: &str = r#"
flow "Kinds" { timezone "UTC" }
field order: text matching /^[A-Z]{2}[0-9]{6}$/
  invalid "Looks like AB123456."
field email: email invalid "That is not an email address."
form intake "Tell us about it" {
  screen "About you" {
    name: text "Name" length between 2 and 80
    mobile: phone "Mobile"
    email
  }
  screen "Your order" {
    order
    quantity: number "How many?" between 1 and 100
    day: date "Delivery day" after 2026-12-31 before 2027-02-01
    size: choice "Size" "S", "M", "L"
  }
  screen "Anything else?" {
    story: text "Tell us more" optional
    consent: yesno "I agree to be contacted"
  }
}
stage entry {
  on enter { reply form intake "Please fill this in" }
  on form intake submitted { close "done" }
  otherwise { reply "Please use the form." }
}
"#;

#[test]
fn a_form_with_every_input_kind_is_valid_flow_json() {
    let v = schema();
    let flows = forms_of("all kinds", ALL_KINDS);
    assert_eq!(flows.len(), 1);
    for (form, flow) in flows {
        let errors = schema_errors(&v, &flow);
        assert!(errors.is_empty(), "{form}: {errors:#?}");
        let broken = cross_rules(&flow);
        assert!(broken.is_empty(), "{form}: {broken:#?}");
        insta::assert_json_snapshot!("all_kinds__intake", flow);
    }
}

/// A minimal valid one-screen flow, the base of the refusal tests below.
fn minimal() -> Value {
    json!({
        "version": "7.3",
        "screens": [{
            "id": "ONLY",
            "title": "Only",
            "terminal": true,
            "success": true,
            "layout": { "type": "SingleColumnLayout", "children": [
                { "type": "TextInput", "name": "name", "label": "Name", "required": true },
                { "type": "Footer", "label": "Submit",
                  "on-click-action": { "name": "complete", "payload": { "name": "${form.name}" } } }
            ] }
        }]
    })
}

#[test]
fn the_schema_accepts_a_minimal_flow() {
    let v = schema();
    assert_eq!(schema_errors(&v, &minimal()), Vec::<String>::new());
    assert!(cross_rules(&minimal()).is_empty());
}

/// Breaks a valid document in one way.
type Breaker = Box<dyn Fn(&mut Value)>;

#[test]
fn the_schema_refuses_what_meta_refuses() {
    let v = schema();
    let cases: Vec<(&str, Breaker)> = vec![
        (
            "reserved screen id",
            Box::new(|d| d["screens"][0]["id"] = json!("SUCCESS")),
        ),
        (
            "digit in screen id",
            Box::new(|d| d["screens"][0]["id"] = json!("STEP_1")),
        ),
        ("unknown version", Box::new(|d| d["version"] = json!("2.1"))),
        (
            "no terminal screen",
            Box::new(|d| {
                let s = &mut d["screens"][0];
                s.as_object_mut().map(|o| {
                    o.remove("terminal");
                    o.remove("success")
                });
            }),
        ),
        (
            "terminal without completing footer",
            Box::new(|d| {
                d["screens"][0]["layout"]["children"][1]["on-click-action"] = json!({ "name": "navigate", "next": { "type": "screen", "name": "ONLY" }, "payload": {} });
            }),
        ),
        (
            "label over 20",
            Box::new(|d| {
                d["screens"][0]["layout"]["children"][0]["label"] =
                    json!("A label that is far too long");
            }),
        ),
        (
            "pattern without helper text",
            Box::new(|d| {
                d["screens"][0]["layout"]["children"][0]["pattern"] = json!("^[0-9]+$");
            }),
        ),
        (
            "helper text over 80",
            Box::new(|d| {
                d["screens"][0]["layout"]["children"][0]["helper-text"] = json!("x".repeat(81));
            }),
        ),
        (
            "unknown input type",
            Box::new(|d| {
                d["screens"][0]["layout"]["children"][0]["input-type"] = json!("date");
            }),
        ),
        (
            "unknown component property",
            Box::new(|d| {
                d["screens"][0]["layout"]["children"][0]["placeholder"] = json!("...");
            }),
        ),
        (
            "other layout",
            Box::new(|d| {
                d["screens"][0]["layout"]["type"] = json!("TwoColumnLayout");
            }),
        ),
        (
            "51 components",
            Box::new(|d| {
                let children = d["screens"][0]["layout"]["children"]
                    .as_array_mut()
                    .expect("array");
                for i in 0..49 {
                    children.insert(
                        0,
                        json!({ "type": "TextBody", "text": format!("line {i}") }),
                    );
                }
            }),
        ),
        (
            "two footers",
            Box::new(|d| {
                let children = d["screens"][0]["layout"]["children"]
                    .as_array_mut()
                    .expect("array");
                let footer = children[1].clone();
                children.push(footer);
            }),
        ),
        (
            "six OptIns",
            Box::new(|d| {
                let children = d["screens"][0]["layout"]["children"]
                    .as_array_mut()
                    .expect("array");
                for i in 0..6 {
                    children.insert(
                        0,
                        json!({ "type": "OptIn", "name": format!("o{i}"), "label": "Yes" }),
                    );
                }
            }),
        ),
        (
            "21 radio options",
            Box::new(|d| {
                let options: Vec<Value> = (0..21)
                    .map(|i| json!({ "id": format!("{i}"), "title": format!("{i}") }))
                    .collect();
                d["screens"][0]["layout"]["children"][0] = json!({
                "type": "RadioButtonsGroup", "name": "name", "label": "Pick", "data-source": options });
            }),
        ),
        (
            "option title over 30",
            Box::new(|d| {
                d["screens"][0]["layout"]["children"][0] = json!({
                "type": "Dropdown", "name": "name", "label": "Pick",
                "data-source": [{ "id": "a", "title": "An option title that goes on and on" }] });
            }),
        ),
        (
            "timestamp date",
            Box::new(|d| {
                d["screens"][0]["layout"]["children"][0] = json!({
                "type": "DatePicker", "name": "name", "label": "Day", "min-date": "1767225600000" });
            }),
        ),
        (
            "data without example",
            Box::new(|d| {
                d["screens"][0]["data"] = json!({ "x": { "type": "string" } });
            }),
        ),
        (
            "empty heading",
            Box::new(|d| {
                d["screens"][0]["layout"]["children"]
                    .as_array_mut()
                    .expect("array")
                    .insert(0, json!({ "type": "TextHeading", "text": "" }));
            }),
        ),
    ];
    for (what, break_it) in cases {
        let mut doc = minimal();
        break_it(&mut doc);
        assert!(
            !schema_errors(&v, &doc).is_empty(),
            "the schema accepted a flow with {what}"
        );
    }
}

#[test]
fn cross_rules_catch_payloads_that_do_not_match() {
    let mut doc = json!({
        "version": "7.3",
        "screens": [
            { "id": "A", "layout": { "type": "SingleColumnLayout", "children": [
                { "type": "TextInput", "name": "x", "label": "X" },
                { "type": "Footer", "label": "Continue", "on-click-action": {
                    "name": "navigate", "next": { "type": "screen", "name": "B" },
                    "payload": { "x": "${form.x}" } } } ] } },
            { "id": "B", "terminal": true, "success": true,
              "data": { "x": { "type": "string", "__example__": "a" } },
              "layout": { "type": "SingleColumnLayout", "children": [
                { "type": "Footer", "label": "Submit", "on-click-action": {
                    "name": "complete", "payload": { "x": "${data.x}" } } } ] } }
        ]
    });
    assert!(cross_rules(&doc).is_empty(), "{:?}", cross_rules(&doc));
    doc["screens"][1]["data"] = json!({ "y": { "type": "string", "__example__": "a" } });
    assert_eq!(cross_rules(&doc).len(), 2, "{:?}", cross_rules(&doc));
}

const LIVE: &str = r#"
flow "Clinic" { timezone "UTC" }
webhook slots "https://clinic.example.com/slots" { timeout 3s }
form booking "Book a visit" data slots timeout 2s {
  screen "When" {
    day: date "Preferred day" after today
    period: choice "Period" "Morning", "Afternoon"
  }
  screen "Who" { name: text "Your name" length between 2 and 80 }
}
stage entry {
  on enter { reply form booking "Pick a time" }
  on form booking submitted { reply "Booked for {day}, {period}."; close "booked" }
  otherwise { reply form booking "Pick a time" }
}
"#;

/// A form with `data WEBHOOK` compiles to an endpoint-powered flow: a data API version, a
/// routing model, `data_exchange` footers, and choice options bound to the screen's data
/// (the static options are the example), all valid against the schema.
#[test]
fn a_form_with_live_data_is_an_endpoint_powered_flow() {
    let v = schema();
    let flows = forms_of("live", LIVE);
    let (_, flow) = flows.first().expect("one form");
    let errors = schema_errors(&v, flow);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(flow["data_api_version"], "3.0");
    assert_eq!(
        flow["routing_model"],
        serde_json::json!({"WHEN": ["WHO"], "WHO": []})
    );
    let when = &flow["screens"][0];
    let period = when["layout"]["children"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "period"))
        .expect("the period input");
    assert_eq!(period["data-source"], "${data.period_options}");
    assert_eq!(
        when["data"]["period_options"]["__example__"],
        serde_json::json!([{"id": "Morning", "title": "Morning"}, {"id": "Afternoon", "title": "Afternoon"}])
    );
    for screen in flow["screens"].as_array().into_iter().flatten() {
        let footer = screen["layout"]["children"]
            .as_array()
            .and_then(|c| c.last())
            .expect("a footer");
        assert_eq!(footer["on-click-action"]["name"], "data_exchange");
    }
    // Without `data`, the same form stays a static flow.
    let plain = LIVE.replace(" data slots timeout 2s", "").replace(
        "webhook slots \"https://clinic.example.com/slots\" { timeout 3s }\n",
        "",
    );
    let (_, flow) = forms_of("plain", &plain)
        .into_iter()
        .next()
        .expect("one form");
    assert!(flow.get("data_api_version").is_none());
    assert!(flow["screens"][0]["layout"]["children"][2]["data-source"].is_array());
}
