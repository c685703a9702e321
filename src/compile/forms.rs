//! Lowers a `form` declaration to WhatsApp Flow JSON: one `SingleColumnLayout` screen per
//! `screen`, a component per input, a footer that navigates to the next screen and, on
//! the last screen, completes the flow with every answer. The mapping table, with the
//! source of each rule, is in `docs/forms.md`; which component an input becomes and the
//! screen ids are decided in `check::flows`, so the checker judges what is emitted here.

use crate::check::Symbols;
use crate::check::flows::{self, FLOW_JSON_VERSION, ResolvedInput, Widget};
use crate::syntax::ast::{self, DateBound, DateLit, FieldKind, NumLit};
use serde_json::{Map, Value, json};

/// Label of the footer button that moves to the next screen.
pub const CONTINUE_LABEL: &str = "Continue";
/// Label of the footer button on the last screen, which completes the flow.
pub const SUBMIT_LABEL: &str = "Submit";

/// The Flow JSON of one form. Bare inputs whose field is unknown are left out (the
/// checker reports them, and `wafl build` refuses scripts with errors).
pub fn flow_json(file: &ast::File, syms: &Symbols, form: &ast::FormDecl) -> Value {
    let ids = flows::screen_ids(form);
    let screens: Vec<Vec<ResolvedInput>> = form
        .screens
        .iter()
        .map(|s| {
            s.inputs
                .iter()
                .filter_map(|i| flows::resolve(file, syms, i))
                .collect()
        })
        .collect();
    // A form with `data WEBHOOK` is endpoint-powered: every footer exchanges data with
    // the daemon's Flows endpoint, and choice options come from the screen's data, so the
    // webhook can replace them (the static options are the example and the fallback).
    let live = form.data.is_some();
    let mut out = Vec::new();
    // The answers of earlier screens, carried forward in each `navigate` payload.
    let mut earlier: Vec<&ResolvedInput> = Vec::new();
    for (index, (screen, inputs)) in form.screens.iter().zip(&screens).enumerate() {
        let id = ids.get(index).cloned().unwrap_or_default();
        let next = ids.get(index + 1);
        let mut children = vec![json!({ "type": "TextHeading", "text": form.title.value })];
        children.extend(inputs.iter().map(|r| {
            let mut c = component(r);
            if live && matches!(r.kind, FieldKind::Choice(_)) {
                c["data-source"] = json!(format!("${{data.{}}}", options_key(r)));
            }
            c
        }));
        let mut foot = footer(next, &earlier, inputs);
        if live {
            let payload = foot["on-click-action"]["payload"].clone();
            foot["on-click-action"] = json!({ "name": "data_exchange", "payload": payload });
        }
        children.push(foot);
        let mut obj = Map::new();
        obj.insert("id".into(), Value::String(id));
        obj.insert("title".into(), Value::String(screen.title.value.clone()));
        let mut model = match data_model(&earlier) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        if live {
            for r in inputs {
                if let FieldKind::Choice(options) = r.kind {
                    model.insert(
                        options_key(r),
                        json!({
                            "type": "array",
                            "items": { "type": "object", "properties": {
                                "id": { "type": "string" }, "title": { "type": "string" } } },
                            "__example__": choice_options(options),
                        }),
                    );
                }
            }
        }
        if !model.is_empty() {
            obj.insert("data".into(), Value::Object(model));
        }
        if next.is_none() {
            obj.insert("terminal".into(), Value::Bool(true));
            obj.insert("success".into(), Value::Bool(true));
        }
        obj.insert(
            "layout".into(),
            json!({ "type": "SingleColumnLayout", "children": children }),
        );
        out.push(Value::Object(obj));
        earlier.extend(inputs.iter());
    }
    if !live {
        return json!({ "version": FLOW_JSON_VERSION, "screens": out });
    }
    // Endpoint-powered flows declare which screen leads to which.
    let routing: Map<String, Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                id.clone(),
                json!(ids.get(i + 1).into_iter().collect::<Vec<_>>()),
            )
        })
        .collect();
    json!({
        "version": FLOW_JSON_VERSION,
        "data_api_version": "3.0",
        "routing_model": routing,
        "screens": out,
    })
}

/// The screen-data key holding a choice input's options in an endpoint-powered form.
pub fn options_key(r: &ResolvedInput) -> String {
    format!("{}_options", r.input.name.name)
}

/// Options as Flow JSON `data-source` entries: id and title are the option text.
pub fn choice_options(options: &[ast::Text]) -> Value {
    Value::Array(
        options
            .iter()
            .map(|o| json!({ "id": o.value, "title": o.value }))
            .collect(),
    )
}

/// For each screen of an endpoint-powered form, the data it shows when the data webhook
/// says nothing: every choice input's static options under `<input>_options`.
pub fn static_screen_data(file: &ast::File, syms: &Symbols, form: &ast::FormDecl) -> Vec<Value> {
    form.screens
        .iter()
        .map(|s| {
            let mut m = Map::new();
            for r in s
                .inputs
                .iter()
                .filter_map(|i| flows::resolve(file, syms, i))
            {
                if let FieldKind::Choice(options) = r.kind {
                    m.insert(options_key(&r), choice_options(options));
                }
            }
            Value::Object(m)
        })
        .collect()
}

/// The footer of a screen: `navigate` to the next screen with every answer so far, or
/// `complete` with all answers on the last one.
fn footer(next: Option<&String>, earlier: &[&ResolvedInput], current: &[ResolvedInput]) -> Value {
    let mut payload = Map::new();
    for r in earlier {
        let name = &r.input.name.name;
        payload.insert(name.clone(), Value::String(format!("${{data.{name}}}")));
    }
    for r in current {
        let name = &r.input.name.name;
        payload.insert(name.clone(), Value::String(format!("${{form.{name}}}")));
    }
    match next {
        Some(next) => json!({
            "type": "Footer",
            "label": CONTINUE_LABEL,
            "on-click-action": {
                "name": "navigate",
                "next": { "type": "screen", "name": next },
                "payload": payload,
            }
        }),
        None => json!({
            "type": "Footer",
            "label": SUBMIT_LABEL,
            "on-click-action": { "name": "complete", "payload": payload }
        }),
    }
}

/// The `data` model of a screen: the answers of earlier screens it receives through the
/// `navigate` payload, each with the `__example__` Flow JSON requires.
fn data_model(earlier: &[&ResolvedInput]) -> Value {
    let mut model = Map::new();
    for r in earlier {
        let (ty, example) = match r.kind {
            FieldKind::YesNo => ("boolean", json!(true)),
            FieldKind::Date { .. } => ("string", json!("2026-01-31")),
            FieldKind::Number { .. } => ("string", json!("1")),
            FieldKind::Email => ("string", json!("name@example.com")),
            FieldKind::Phone => ("string", json!("+5511988887777")),
            FieldKind::Choice(options) => (
                "string",
                json!(options.first().map(|o| o.value.as_str()).unwrap_or("")),
            ),
            FieldKind::Text { .. } => ("string", json!("text")),
        };
        model.insert(
            r.input.name.name.clone(),
            json!({ "type": ty, "__example__": example }),
        );
    }
    Value::Object(model)
}

/// The component of one input.
fn component(r: &ResolvedInput) -> Value {
    let widget = flows::widget_for(r.kind);
    let mut c = Map::new();
    c.insert("type".into(), json!(widget.type_name()));
    c.insert("name".into(), json!(r.input.name.name));
    c.insert("label".into(), json!(r.label));
    // A checked OptIn is "yes", an unchecked one "no": the answer always exists, so
    // `required` (which would force a "yes") stays off.
    let required = !r.input.optional && widget != Widget::OptIn;
    c.insert("required".into(), json!(required));
    match (widget, r.kind) {
        (Widget::TextInput(ty), kind) => {
            c.insert("input-type".into(), json!(ty.as_str()));
            if let FieldKind::Text { pattern, length } = kind {
                if let Some((min, max)) = length {
                    if let Some(min) = count(min).filter(|n| *n > 0) {
                        c.insert("min-chars".into(), json!(min));
                    }
                    if let Some(max) = count(max) {
                        c.insert("max-chars".into(), json!(max));
                    }
                }
                if let Some(p) = pattern {
                    c.insert("pattern".into(), json!(p.source));
                }
            }
        }
        (Widget::TextArea, FieldKind::Text { length, .. }) => {
            if let Some(max) = length.as_ref().and_then(|(_, max)| count(max)) {
                c.insert("max-length".into(), json!(max));
            }
        }
        (Widget::DatePicker, FieldKind::Date { after, before }) => {
            // Only fixed dates can be written into a static flow; bounds relative to
            // `today` are checked when the answer arrives. `after`/`before` are strict,
            // `min-date`/`max-date` inclusive.
            if let Some(min) = after.as_ref().and_then(|b| fixed(b, 1)) {
                c.insert("min-date".into(), json!(min));
            }
            if let Some(max) = before.as_ref().and_then(|b| fixed(b, -1)) {
                c.insert("max-date".into(), json!(max));
            }
        }
        (Widget::RadioButtonsGroup | Widget::Dropdown, FieldKind::Choice(options)) => {
            let source: Vec<Value> = options
                .iter()
                .map(|o| json!({ "id": o.value, "title": o.value }))
                .collect();
            c.insert("data-source".into(), Value::Array(source));
        }
        _ => {}
    }
    if widget.has_helper_text()
        && let Some(msg) = r.invalid
    {
        c.insert("helper-text".into(), json!(msg.value));
    }
    Value::Object(c)
}

/// A character count from a length bound, if it is a whole non-negative number.
fn count(n: &NumLit) -> Option<u64> {
    let v = n.value;
    (v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64).then_some(v as u64)
}

/// A fixed date bound moved by `shift` days, as `YYYY-MM-DD`; `None` for `today` or a
/// date that does not exist.
fn fixed(bound: &DateBound, shift: i8) -> Option<String> {
    let DateBound::Date(DateLit {
        year, month, day, ..
    }) = *bound
    else {
        return None;
    };
    let date = jiff::civil::Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    let moved = date
        .checked_add(jiff::Span::new().days(i64::from(shift)))
        .ok()?;
    Some(moved.strftime("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::symbols;
    use crate::syntax::ast::*;
    use crate::syntax::span::Span;

    fn sp() -> Span {
        Span::default()
    }
    fn id(name: &str) -> Ident {
        Ident {
            name: name.into(),
            span: sp(),
        }
    }
    fn text(value: &str) -> Text {
        Text {
            value: value.into(),
            parts: vec![TextPart::Lit(value.into())],
            span: sp(),
        }
    }
    fn num(value: f64) -> NumLit {
        NumLit { value, span: sp() }
    }
    fn input(name: &str, label: &str, kind: FieldKind, optional: bool) -> FormInput {
        FormInput {
            name: id(name),
            label: Some(text(label)),
            ty: Some(FieldType { kind, span: sp() }),
            optional,
            span: sp(),
        }
    }
    fn bare(name: &str) -> FormInput {
        FormInput {
            name: id(name),
            label: None,
            ty: None,
            optional: false,
            span: sp(),
        }
    }
    fn date(year: i32, month: u32, day: u32) -> DateBound {
        DateBound::Date(DateLit {
            year,
            month,
            day,
            span: sp(),
        })
    }

    /// The booking form of the syntax summary, plus a declared `email` field.
    fn booking() -> File {
        let form = FormDecl {
            name: id("booking"),
            title: text("Book a visit"),
            data: None,
            screens: vec![
                Screen {
                    title: text("When"),
                    inputs: vec![
                        input(
                            "day",
                            "Preferred day",
                            FieldKind::Date {
                                after: Some(DateBound::Today(sp())),
                                before: Some(date(2027, 1, 1)),
                            },
                            false,
                        ),
                        input(
                            "period",
                            "Period",
                            FieldKind::Choice(vec![text("Morning"), text("Afternoon")]),
                            false,
                        ),
                        input(
                            "notes",
                            "Anything else?",
                            FieldKind::Text {
                                pattern: None,
                                length: None,
                            },
                            true,
                        ),
                    ],
                    span: sp(),
                },
                Screen {
                    title: text("Contact"),
                    inputs: vec![bare("email")],
                    span: sp(),
                },
            ],
            span: sp(),
        };
        let email = FieldDecl {
            name: id("email"),
            ty: FieldType {
                kind: FieldKind::Email,
                span: sp(),
            },
            invalid: Some(text("That does not look like an email address.")),
            span: sp(),
        };
        File {
            items: vec![Item::Field(email), Item::Form(form)],
            span: sp(),
        }
    }

    fn lower(file: &File) -> Value {
        let mut diags = Vec::new();
        let syms = symbols::collect(file, &mut diags);
        let Some(Item::Form(form)) = file.items.iter().find(|i| matches!(i, Item::Form(_))) else {
            return Value::Null;
        };
        flow_json(file, &syms, form)
    }

    #[test]
    fn booking_form_becomes_two_screens_that_navigate_then_complete() {
        let got = lower(&booking());
        let want = json!({
            "version": "7.3",
            "screens": [
                {
                    "id": "WHEN",
                    "title": "When",
                    "layout": { "type": "SingleColumnLayout", "children": [
                        { "type": "TextHeading", "text": "Book a visit" },
                        { "type": "DatePicker", "name": "day", "label": "Preferred day",
                          "required": true, "max-date": "2026-12-31" },
                        { "type": "RadioButtonsGroup", "name": "period", "label": "Period",
                          "required": true, "data-source": [
                              { "id": "Morning", "title": "Morning" },
                              { "id": "Afternoon", "title": "Afternoon" } ] },
                        { "type": "TextArea", "name": "notes", "label": "Anything else?",
                          "required": false },
                        { "type": "Footer", "label": "Continue", "on-click-action": {
                            "name": "navigate",
                            "next": { "type": "screen", "name": "CONTACT" },
                            "payload": { "day": "${form.day}", "period": "${form.period}",
                                         "notes": "${form.notes}" } } }
                    ] }
                },
                {
                    "id": "CONTACT",
                    "title": "Contact",
                    "data": {
                        "day": { "type": "string", "__example__": "2026-01-31" },
                        "period": { "type": "string", "__example__": "Morning" },
                        "notes": { "type": "string", "__example__": "text" }
                    },
                    "terminal": true,
                    "success": true,
                    "layout": { "type": "SingleColumnLayout", "children": [
                        { "type": "TextHeading", "text": "Book a visit" },
                        { "type": "TextInput", "name": "email", "label": "Email",
                          "required": true, "input-type": "email",
                          "helper-text": "That does not look like an email address." },
                        { "type": "Footer", "label": "Submit", "on-click-action": {
                            "name": "complete",
                            "payload": { "day": "${data.day}", "period": "${data.period}",
                                         "notes": "${data.notes}", "email": "${form.email}" } } }
                    ] }
                }
            ]
        });
        assert_eq!(got, want);
    }

    #[test]
    fn text_fields_map_to_text_input_or_text_area() {
        let short = FieldKind::Text {
            pattern: None,
            length: Some((num(2.0), num(80.0))),
        };
        let long = FieldKind::Text {
            pattern: None,
            length: Some((num(0.0), num(500.0))),
        };
        let coded = FieldKind::Text {
            pattern: Some(RegexLit {
                source: "^[A-Z]{2}[0-9]{6}$".into(),
                span: sp(),
            }),
            length: None,
        };
        let form = FormDecl {
            name: id("f"),
            title: text("F"),
            data: None,
            screens: vec![Screen {
                title: text("Only"),
                inputs: vec![
                    input("name", "Name", short, false),
                    input("story", "Story", long, false),
                    input("code", "Code", coded, true),
                    input("qty", "Quantity", FieldKind::Number { range: None }, false),
                    input("phone", "Phone", FieldKind::Phone, false),
                    input("ok", "I agree", FieldKind::YesNo, false),
                ],
                span: sp(),
            }],
            span: sp(),
        };
        let file = File {
            items: vec![Item::Form(form)],
            span: sp(),
        };
        let got = lower(&file);
        let children = &got["screens"][0]["layout"]["children"];
        assert_eq!(
            children[1],
            json!({ "type": "TextInput", "name": "name", "label": "Name", "required": true,
                    "input-type": "text", "min-chars": 2, "max-chars": 80 })
        );
        assert_eq!(
            children[2],
            json!({ "type": "TextArea", "name": "story", "label": "Story", "required": true,
                    "max-length": 500 })
        );
        assert_eq!(
            children[3],
            json!({ "type": "TextInput", "name": "code", "label": "Code", "required": false,
                    "input-type": "text", "pattern": "^[A-Z]{2}[0-9]{6}$" })
        );
        assert_eq!(children[4]["input-type"], json!("number"));
        assert_eq!(children[5]["input-type"], json!("phone"));
        assert_eq!(
            children[6],
            json!({ "type": "OptIn", "name": "ok", "label": "I agree", "required": false })
        );
        assert_eq!(got["screens"][0]["terminal"], json!(true));
        assert!(got["screens"][0].get("data").is_none());
    }

    #[test]
    fn long_choices_become_a_dropdown_and_fixed_dates_are_inclusive() {
        let many: Vec<Text> = (0..21).map(|i| text(&format!("Option {i}"))).collect();
        let form = FormDecl {
            name: id("f"),
            title: text("F"),
            data: None,
            screens: vec![Screen {
                title: text("Only"),
                inputs: vec![
                    input("pick", "Pick", FieldKind::Choice(many), false),
                    input(
                        "when",
                        "When",
                        FieldKind::Date {
                            after: Some(date(2026, 12, 31)),
                            before: Some(date(2027, 3, 1)),
                        },
                        false,
                    ),
                ],
                span: sp(),
            }],
            span: sp(),
        };
        let file = File {
            items: vec![Item::Form(form)],
            span: sp(),
        };
        let got = lower(&file);
        let children = &got["screens"][0]["layout"]["children"];
        assert_eq!(children[1]["type"], json!("Dropdown"));
        assert_eq!(
            children[1]["data-source"].as_array().map(Vec::len),
            Some(21)
        );
        assert_eq!(children[2]["min-date"], json!("2027-01-01"));
        assert_eq!(children[2]["max-date"], json!("2027-02-28"));
    }

    #[test]
    fn impossible_dates_and_odd_lengths_are_left_out_without_panicking() {
        assert_eq!(fixed(&date(2026, 2, 30), 1), None);
        assert_eq!(fixed(&date(i32::MAX, 1, 1), 1), None);
        assert_eq!(fixed(&DateBound::Today(sp()), 1), None);
        assert_eq!(count(&num(-1.0)), None);
        assert_eq!(count(&num(2.5)), None);
        assert_eq!(count(&num(f64::NAN)), None);
        assert_eq!(count(&num(12.0)), Some(12));
    }
}
