//! Checker pass: the WhatsApp Flow JSON rules a `form` must meet so that the file
//! `wafl build` writes for it is accepted on upload. It also owns the form-to-Flow-JSON
//! decisions both this pass and `compile::forms` rely on (which component an input
//! becomes, the screen ids), so the checker judges exactly what the compiler emits.
//!
//! The generic length and count limits of forms (labels, options, components per screen)
//! are the limits pass's; this pass covers what depends on the mapping: screen ids
//! (derivation, collisions, the reserved `SUCCESS`), the terminal screen, the helper
//! texts taken from `invalid` messages, and inputs repeated inside one form. Each rule's
//! source is listed in `docs/forms.md`.

use super::{Cx, Symbols};
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{self, FieldKind, Item};
use crate::syntax::span::Span;
use std::collections::BTreeMap;
use unicode_normalization::UnicodeNormalization;

/// The Flow JSON version the compiler writes (the latest in Meta's changelog; `pattern`
/// needs 6.2 or later).
pub const FLOW_JSON_VERSION: &str = "7.3";
/// Screen id Meta reserves for its own completion screen.
pub const RESERVED_SCREEN_ID: &str = "SUCCESS";
/// Most characters of a `helper-text` (TextInput, TextArea, DatePicker).
pub const HELPER_TEXT_MAX: usize = 80;
/// Most options of a `RadioButtonsGroup`; longer choices become a `Dropdown`.
pub const RADIO_MAX_OPTIONS: usize = 20;
/// Longest `text` field a single-line `TextInput` holds by default (`max-chars` 80);
/// longer or unbounded text becomes a `TextArea`.
pub const TEXT_INPUT_MAX_CHARS: f64 = 80.0;

/// The Flow JSON component an input becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Widget {
    /// `TextInput` with its `input-type`.
    TextInput(InputType),
    TextArea,
    DatePicker,
    RadioButtonsGroup,
    Dropdown,
    OptIn,
}

/// The `input-type` of a `TextInput`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputType {
    Text,
    Number,
    Email,
    Phone,
}

impl InputType {
    pub fn as_str(self) -> &'static str {
        match self {
            InputType::Text => "text",
            InputType::Number => "number",
            InputType::Email => "email",
            InputType::Phone => "phone",
        }
    }
}

impl Widget {
    /// The component's `type` string in Flow JSON.
    pub fn type_name(self) -> &'static str {
        match self {
            Widget::TextInput(_) => "TextInput",
            Widget::TextArea => "TextArea",
            Widget::DatePicker => "DatePicker",
            Widget::RadioButtonsGroup => "RadioButtonsGroup",
            Widget::Dropdown => "Dropdown",
            Widget::OptIn => "OptIn",
        }
    }

    /// Most characters of the component's `label`.
    pub fn label_max(self) -> usize {
        match self {
            Widget::TextInput(_) | Widget::TextArea | Widget::Dropdown => 20,
            Widget::RadioButtonsGroup => 30,
            Widget::DatePicker => 40,
            Widget::OptIn => 120,
        }
    }

    /// Whether the component shows a `helper-text` (where the `invalid` message goes).
    pub fn has_helper_text(self) -> bool {
        matches!(
            self,
            Widget::TextInput(_) | Widget::TextArea | Widget::DatePicker
        )
    }
}

/// The component a field of this kind becomes.
pub fn widget_for(kind: &FieldKind) -> Widget {
    match kind {
        FieldKind::Text { pattern, length } => {
            let fits_one_line = length
                .as_ref()
                .is_some_and(|(_, max)| max.value <= TEXT_INPUT_MAX_CHARS);
            if pattern.is_some() || fits_one_line {
                Widget::TextInput(InputType::Text)
            } else {
                Widget::TextArea
            }
        }
        FieldKind::Number { .. } => Widget::TextInput(InputType::Number),
        FieldKind::Email => Widget::TextInput(InputType::Email),
        FieldKind::Phone => Widget::TextInput(InputType::Phone),
        FieldKind::Date { .. } => Widget::DatePicker,
        FieldKind::Choice(options) if options.len() <= RADIO_MAX_OPTIONS => {
            Widget::RadioButtonsGroup
        }
        FieldKind::Choice(_) => Widget::Dropdown,
        FieldKind::YesNo => Widget::OptIn,
    }
}

/// The type keyword of a field kind, as scripts write it.
pub fn kind_name(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Text { .. } => "text",
        FieldKind::Number { .. } => "number",
        FieldKind::Email => "email",
        FieldKind::Phone => "phone",
        FieldKind::Date { .. } => "date",
        FieldKind::Choice(_) => "choice",
        FieldKind::YesNo => "yesno",
    }
}

/// What one form input stands for once a bare name is resolved to its declared field.
#[derive(Clone, Debug)]
pub struct ResolvedInput<'a> {
    pub input: &'a ast::FormInput,
    pub kind: &'a FieldKind,
    /// The label shown above the component: the input's own, or the field name for a
    /// bare reuse (the field declaration has no label).
    pub label: String,
    /// The `invalid` message of the declared field, for a bare reuse.
    pub invalid: Option<&'a ast::Text>,
}

/// Resolves a form input against the declared fields; `None` for an unknown bare name
/// (the names pass reports it).
pub fn resolve<'a>(
    file: &'a ast::File,
    syms: &'a Symbols,
    input: &'a ast::FormInput,
) -> Option<ResolvedInput<'a>> {
    if let Some(ty) = &input.ty {
        return Some(ResolvedInput {
            input,
            kind: &ty.kind,
            label: input
                .label
                .as_ref()
                .map(|l| l.value.clone())
                .unwrap_or_else(|| input.name.name.clone()),
            invalid: None,
        });
    }
    let info = syms.fields.get(&input.name.name)?;
    // A declared field's `invalid` message lives on its declaration item.
    let invalid = file.items.iter().find_map(|item| match item {
        Item::Field(f) if f.name.name == input.name.name => f.invalid.as_ref(),
        _ => None,
    });
    let kind = &info.kind;
    Some(ResolvedInput {
        input,
        kind,
        label: input
            .label
            .as_ref()
            .map(|l| l.value.clone())
            .unwrap_or_else(|| humanize(&input.name.name)),
        invalid,
    })
}

/// `start_day` → `Start day`: the label of a bare input.
pub fn humanize(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let trimmed = spaced.trim();
    let mut chars = trimmed.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The screen id derived from a title: accents folded, ASCII letters upper-cased, every
/// other run of characters turned into one underscore, underscores trimmed at both ends.
/// Flow JSON screen ids may only hold letters and underscores. A title without any
/// letter gets `SCREEN_` plus the screen's position as letters (`SCREEN_A`, `SCREEN_B`).
pub fn screen_id(title: &str, index: usize) -> String {
    let mut id = String::new();
    let mut gap = false;
    for c in title.nfd() {
        if c.is_ascii_alphabetic() {
            if gap && !id.is_empty() {
                id.push('_');
            }
            gap = false;
            id.push(c.to_ascii_uppercase());
        } else if unicode_normalization::char::is_combining_mark(c) {
            // The accent of a folded letter: dropped, the letter stays.
        } else {
            gap = true;
        }
    }
    if id.is_empty() {
        id = format!("SCREEN_{}", letters(index));
    }
    id
}

/// 0 → `A`, 25 → `Z`, 26 → `AA`: a position written with letters only.
fn letters(mut n: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'A' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            break;
        }
        n -= 1;
    }
    out.iter().rev().collect()
}

/// The screen ids of a form, in order.
pub fn screen_ids(form: &ast::FormDecl) -> Vec<String> {
    form.screens
        .iter()
        .enumerate()
        .map(|(i, s)| screen_id(&s.title.value, i))
        .collect()
}

pub(crate) fn run(cx: &mut Cx) {
    for d in check_file(cx.file, cx.syms) {
        cx.report(d);
    }
}

/// Every Flow JSON rule of every form. A field declaration used by several inputs is
/// reported once, at its first use.
pub fn check_file(file: &ast::File, syms: &Symbols) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for item in &file.items {
        if let Item::Form(form) = item {
            check_form(file, syms, form, &mut found);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    found.retain(|d| seen.insert((d.message.clone(), d.primary.span)));
    found
}

/// Every Flow JSON rule of one form, as diagnostics.
pub fn check_form(
    file: &ast::File,
    syms: &Symbols,
    form: &ast::FormDecl,
    out: &mut Vec<Diagnostic>,
) {
    // A form without screens is the limits pass's finding; there is nothing to map.
    empty_text(
        &form.title,
        "the form title",
        "it is the heading of every screen",
        out,
    );
    for screen in &form.screens {
        for input in &screen.inputs {
            if let Some(label) = &input.label {
                empty_text(label, "an input label", "every input shows its label", out);
            }
            if let Some(ast::FieldType {
                kind: FieldKind::Choice(options),
                ..
            }) = &input.ty
            {
                for o in options {
                    empty_text(
                        o,
                        "a choice option",
                        "each option is a row the customer taps",
                        out,
                    );
                }
            }
        }
    }
    let ids = screen_ids(form);
    let mut seen: BTreeMap<&str, &ast::Text> = BTreeMap::new();
    for (screen, id) in form.screens.iter().zip(&ids) {
        if id == RESERVED_SCREEN_ID {
            out.push(
                Diagnostic::new(
                    codes::FORM_LIMIT,
                    format!(
                        "screen `{}` gets the reserved id `SUCCESS`",
                        screen.title.value
                    ),
                    screen.title.span,
                    "its id would be `SUCCESS`",
                )
                .with_note("WhatsApp reserves the screen id `SUCCESS` for its own screen")
                .with_help("give the screen another title, e.g. \"Done\""),
            );
        }
        if let Some(first) = seen.get(id.as_str()) {
            // Identical titles are the limits pass's finding; here, different titles
            // that fold to the same id.
            if first.value == screen.title.value {
                continue;
            }
            out.push(
                Diagnostic::new(
                    codes::FORM_LIMIT,
                    format!(
                        "two screens of form `{}` get the same id `{id}`",
                        form.name.name
                    ),
                    screen.title.span,
                    format!("this title also becomes `{id}`"),
                )
                .with_secondary(first.span, "first screen with this id")
                .with_note(
                    "screen ids are the titles' letters upper-cased with underscores \
                     (digits and punctuation drop out), and must be unique in a flow",
                )
                .with_help("make the screen titles differ in their letters"),
            );
        } else {
            seen.insert(id.as_str(), &screen.title);
        }
    }
    // Input name -> (screen index, span) of its first use.
    let mut names: BTreeMap<&str, (usize, Span)> = BTreeMap::new();
    for (index, screen) in form.screens.iter().enumerate() {
        for input in &screen.inputs {
            let name = input.name.name.as_str();
            if let Some(&(first_screen, first)) = names.get(name) {
                // Twice on one screen is the limits pass's finding.
                if first_screen == index {
                    continue;
                }
                out.push(
                    Diagnostic::new(
                        codes::FORM_LIMIT,
                        format!("input `{name}` appears twice in form `{}`", form.name.name),
                        input.name.span,
                        "asked again here",
                    )
                    .with_secondary(first, "first asked here")
                    .with_note("a flow's answer carries one value per input name")
                    .with_help("remove one of the two inputs"),
                );
                continue;
            } else {
                names.insert(name, (index, input.name.span));
            }
            let Some(resolved) = resolve(file, syms, input) else {
                continue;
            };
            check_input(&resolved, out);
        }
    }
}

/// WhatsApp Flows refuses empty display texts.
fn empty_text(t: &ast::Text, what: &str, why: &str, out: &mut Vec<Diagnostic>) {
    if t.value.trim().is_empty() {
        out.push(
            Diagnostic::new(
                codes::FORM_LIMIT,
                format!("{what} is empty"),
                t.span,
                "nothing to show",
            )
            .with_note(format!("WhatsApp Flows refuses empty texts, and {why}"))
            .with_help("write the text to show"),
        );
    }
}

fn check_input(r: &ResolvedInput, out: &mut Vec<Diagnostic>) {
    let widget = widget_for(r.kind);
    let name = &r.input.name.name;
    // A written label is the limits pass's; the label made from a bare name is ours.
    let len = r.label.chars().count();
    if r.input.label.is_none() && len > widget.label_max() {
        let max = widget.label_max();
        out.push(
            Diagnostic::new(
                codes::FORM_LIMIT,
                format!("the label made from field name `{name}` is too long for a form"),
                r.input.name.span,
                format!(
                    "the label \"{}\" has {len} characters, at most {max}",
                    r.label
                ),
            )
            .with_note(format!(
                "a bare input is labelled with its field name, and this input becomes a \
                 `{}`, whose label WhatsApp Flows limits to {max} characters",
                widget.type_name()
            ))
            .with_help(format!(
                "give the field a shorter name, or declare it in the form with its own label \
                 (`{name}: {} \"Short label\"`) instead of at the top level",
                kind_name(r.kind)
            )),
        );
    }
    let pattern = matches!(
        r.kind,
        FieldKind::Text {
            pattern: Some(_),
            ..
        }
    );
    match r.invalid {
        Some(msg) if widget.has_helper_text() => {
            let len = msg.value.chars().count();
            if len > HELPER_TEXT_MAX {
                out.push(
                    Diagnostic::new(
                        codes::FORM_LIMIT,
                        format!(
                            "the `invalid` message of `{name}` is too long for a form's helper text"
                        ),
                        msg.span,
                        format!("{len} characters"),
                    )
                    .with_secondary(r.input.name.span, "used in a form here")
                    .with_note(format!(
                        "in a WhatsApp Flow this message becomes the input's helper text, \
                         at most {HELPER_TEXT_MAX} characters"
                    ))
                    .with_help(format!(
                        "shorten the message to {HELPER_TEXT_MAX} characters or fewer"
                    )),
                );
            }
        }
        None if pattern => {
            out.push(
                Diagnostic::new(
                    codes::FORM_LIMIT,
                    format!("form input `{name}` has a pattern but no `invalid` message"),
                    r.input.name.span,
                    "used in a form here",
                )
                .with_note(
                    "a WhatsApp Flow text input with a pattern needs a helper text, which \
                     wafl takes from the field's `invalid` message",
                )
                .with_help(format!(
                    "add `invalid \"...\"` to the declaration of field `{name}`"
                )),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_ids_keep_letters_and_underscores() {
        assert_eq!(screen_id("When", 0), "WHEN");
        assert_eq!(screen_id("Your contact details", 0), "YOUR_CONTACT_DETAILS");
        assert_eq!(screen_id("Endereço de entrega!", 0), "ENDERECO_DE_ENTREGA");
        assert_eq!(screen_id("  Step 2: pay  ", 0), "STEP_PAY");
        assert_eq!(screen_id("123", 0), "SCREEN_A");
        assert_eq!(screen_id("日本", 27), "SCREEN_AB");
        assert_eq!(screen_id("", 25), "SCREEN_Z");
    }

    use crate::check::symbols;
    use crate::syntax::ast::*;

    fn sp(at: usize) -> Span {
        Span::new(crate::syntax::span::FileId(0), at, at + 1)
    }
    fn text(value: &str, at: usize) -> Text {
        Text {
            value: value.into(),
            parts: vec![TextPart::Lit(value.into())],
            span: sp(at),
        }
    }
    fn ident(name: &str, at: usize) -> Ident {
        Ident {
            name: name.into(),
            span: sp(at),
        }
    }
    fn bare(name: &str, at: usize) -> FormInput {
        FormInput {
            name: ident(name, at),
            label: None,
            ty: None,
            optional: false,
            span: sp(at),
        }
    }
    fn screen(title: &str, at: usize, inputs: Vec<FormInput>) -> Screen {
        Screen {
            title: text(title, at),
            inputs,
            span: sp(at),
        }
    }
    fn field(name: &str, kind: FieldKind, invalid: Option<&str>) -> Item {
        Item::Field(FieldDecl {
            name: ident(name, 0),
            ty: FieldType { kind, span: sp(0) },
            invalid: invalid.map(|m| text(m, 1)),
            span: sp(0),
        })
    }
    fn code() -> FieldKind {
        FieldKind::Text {
            pattern: Some(RegexLit {
                source: "^[0-9]+$".into(),
                span: sp(0),
            }),
            length: None,
        }
    }

    /// The messages of the diagnostics for one form with these screens.
    fn check(mut items: Vec<Item>, screens: Vec<Screen>) -> Vec<String> {
        items.push(Item::Form(FormDecl {
            name: ident("f", 50),
            title: text("F", 51),
            data: None,
            screens,
            span: sp(50),
        }));
        let file = File { items, span: sp(0) };
        let mut diags = Vec::new();
        let syms = symbols::collect(&file, &mut diags);
        let out = check_file(&file, &syms);
        assert!(out.iter().all(|d| d.code == codes::FORM_LIMIT));
        out.into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn a_clean_form_has_no_finding() {
        let found = check(
            vec![field("email", FieldKind::Email, Some("Not an email."))],
            vec![
                screen("One", 60, vec![bare("email", 61)]),
                screen("Two", 70, vec![]),
            ],
        );
        assert_eq!(found, Vec::<String>::new());
    }

    #[test]
    fn screen_id_rules() {
        assert_eq!(check(vec![], vec![]), Vec::<String>::new());
        // Identical titles are reported by the limits pass only.
        assert_eq!(
            check(
                vec![],
                vec![screen("Step", 60, vec![]), screen("Step", 70, vec![])]
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            check(
                vec![],
                vec![screen("Step 1", 60, vec![]), screen("Step 2", 70, vec![])]
            ),
            vec!["two screens of form `f` get the same id `STEP`"]
        );
        assert_eq!(
            check(vec![], vec![screen("Success!", 60, vec![])]),
            vec!["screen `Success!` gets the reserved id `SUCCESS`"]
        );
    }

    #[test]
    fn input_rules() {
        assert_eq!(
            check(
                vec![field("email", FieldKind::Email, None)],
                vec![
                    screen("A", 60, vec![bare("email", 61)]),
                    screen("B", 70, vec![bare("email", 71)])
                ]
            ),
            vec!["input `email` appears twice in form `f`"]
        );
        assert_eq!(
            check(
                vec![field("order", code(), None)],
                vec![screen("A", 60, vec![bare("order", 61)])]
            ),
            vec!["form input `order` has a pattern but no `invalid` message"]
        );
        let long = "x".repeat(81);
        assert_eq!(
            check(
                vec![field("order", code(), Some(&long))],
                vec![screen("A", 60, vec![bare("order", 61)])]
            ),
            vec!["the `invalid` message of `order` is too long for a form's helper text"]
        );
        assert_eq!(
            check(
                vec![field("preferred_contact_email", FieldKind::Email, None)],
                vec![screen("A", 60, vec![bare("preferred_contact_email", 61)])]
            ),
            vec!["the label made from field name `preferred_contact_email` is too long for a form"]
        );
        let choice = FieldKind::Choice(vec![text(" ", 2)]);
        let mut input = FormInput {
            name: ident("c", 61),
            label: Some(text("", 62)),
            ty: Some(FieldType {
                kind: choice,
                span: sp(61),
            }),
            optional: false,
            span: sp(61),
        };
        assert_eq!(
            check(vec![], vec![screen("A", 60, vec![input.clone()])]),
            vec!["an input label is empty", "a choice option is empty"]
        );
        input.label = Some(text("C", 62));
        assert_eq!(
            check(vec![], vec![screen("A", 60, vec![input])]),
            vec!["a choice option is empty"]
        );
        // A choice has no helper text, so a long message does not matter there.
        let choice = FieldKind::Choice(vec![text("a", 2)]);
        assert_eq!(
            check(
                vec![field("c", choice, Some(&long))],
                vec![screen("A", 60, vec![bare("c", 61)])]
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn widgets_follow_the_field_kind() {
        assert_eq!(widget_for(&code()), Widget::TextInput(InputType::Text));
        assert_eq!(
            widget_for(&FieldKind::Text {
                pattern: None,
                length: None
            }),
            Widget::TextArea
        );
        let many = FieldKind::Choice((0..21).map(|i| text(&i.to_string(), 0)).collect());
        assert_eq!(widget_for(&many), Widget::Dropdown);
        assert_eq!(widget_for(&FieldKind::YesNo), Widget::OptIn);
    }

    #[test]
    fn humanize_turns_names_into_labels() {
        assert_eq!(humanize("start_day"), "Start day");
        assert_eq!(humanize("email"), "Email");
        assert_eq!(humanize(""), "");
    }
}
