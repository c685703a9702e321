//! Checker pass: the limits WhatsApp enforces on messages (E0501–E0505, E0507) and on
//! WhatsApp Flows forms (E0506). WhatsApp rejects a whole message that breaks one of
//! them, so we refuse it before go-live instead.
//!
//! Lengths count characters (Unicode scalar values) of the literal parts of a string;
//! `{...}` interpolations add more at run time, which a note says when it matters.

use super::Cx;
use super::symbols::Symbols;
use super::walk;
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{ActionKind, FieldKind, FormDecl, Item, MessageKind, Text, TextPart};
use crate::syntax::span::Span;

/// Message limits, from the Cloud API reference (§3.3 text, §3.5 reply buttons, §3.6
/// lists of `whatsapp-cloud-api.md`).
const TEXT_MAX: usize = 4096;
const BUTTONS_BODY_MAX: usize = 1024;
/// Current docs allow 4096 for a list body (older ones said 1024).
const LIST_BODY_MAX: usize = 4096;
const BUTTONS_MAX: usize = 3;
const BUTTON_TITLE_MAX: usize = 20;
const ROWS_MAX: usize = 10;
const ROW_TITLE_MAX: usize = 24;
const LIST_BUTTON_MAX: usize = 20;

/// WhatsApp Flows limits, from §5.4 (components) of `whatsapp-cloud-api.md`.
const COMPONENTS_PER_SCREEN: usize = 50;
/// Besides its inputs, every screen we generate holds a `TextHeading` and a `Footer`.
const FIXED_COMPONENTS: usize = 2;
const FORM_TITLE_MAX: usize = 30;
const SCREEN_TITLE_MAX: usize = 30;
const OPTION_TITLE_MAX: usize = 30;
/// A choice with this many options or fewer becomes radio buttons, more a dropdown.
const RADIO_MAX_OPTIONS: usize = 20;

/// One WhatsApp Flows component a form input turns into, with its limits.
struct Component {
    /// The component's `type` in Flow JSON.
    flows_type: &'static str,
    /// How messages call it.
    name: &'static str,
    label_max: usize,
    /// Allowed number of options (min, max), for components that have them.
    options: Option<(usize, usize)>,
    /// How many of this component one screen may hold.
    per_screen: Option<usize>,
}

/// The per-component limits of WhatsApp Flows, from §5.4 of `whatsapp-cloud-api.md`
/// (Meta's component reference). Text, number, email and phone inputs become a
/// `TextInput`, dates a `DatePicker`, yes/no an `OptIn`, and choices a
/// `RadioButtonsGroup` (up to 20 options) or else a `Dropdown`.
#[rustfmt::skip]
const COMPONENTS: [Component; 5] = [
    Component { flows_type: "TextInput",         name: "text input",         label_max: 20,  options: None,           per_screen: None },
    Component { flows_type: "RadioButtonsGroup", name: "radio button group", label_max: 30,  options: Some((1, 20)),  per_screen: None },
    Component { flows_type: "Dropdown",          name: "dropdown",           label_max: 20,  options: Some((1, 200)), per_screen: None },
    Component { flows_type: "DatePicker",        name: "date picker",        label_max: 40,  options: None,           per_screen: None },
    Component { flows_type: "OptIn",             name: "opt-in checkbox",    label_max: 120, options: None,           per_screen: Some(5) },
];

/// The component a field of this kind becomes in a form.
fn component_of(kind: &FieldKind) -> &'static Component {
    let flows_type = match kind {
        FieldKind::Text { .. } | FieldKind::Number { .. } | FieldKind::Email | FieldKind::Phone => {
            "TextInput"
        }
        FieldKind::Date { .. } => "DatePicker",
        FieldKind::YesNo => "OptIn",
        FieldKind::Choice(options) if options.len() <= RADIO_MAX_OPTIONS => "RadioButtonsGroup",
        FieldKind::Choice(_) => "Dropdown",
    };
    let found = COMPONENTS.iter().find(|c| c.flows_type == flows_type);
    // Every type named above is in the table; a text input is the safe fallback.
    found.unwrap_or(&COMPONENTS[0])
}

/// Characters of the literal parts of a string, and whether it interpolates.
fn literal_len(t: &Text) -> (usize, bool) {
    let mut n = 0;
    let mut interpolated = false;
    for p in &t.parts {
        match p {
            TextPart::Lit(s) => n += s.chars().count(),
            TextPart::Interp(_) => interpolated = true,
        }
    }
    // A tree built without parts still has its value.
    if t.parts.is_empty() {
        n = t.value.chars().count();
    }
    (n, interpolated)
}

pub(crate) fn run(cx: &mut Cx) {
    let mut l = Limits {
        syms: cx.syms,
        diags: Vec::new(),
    };
    for item in &cx.file.items {
        match item {
            Item::Form(form) => l.form(form),
            Item::Field(f) => {
                if let Some(t) = &f.invalid {
                    l.length(
                        t,
                        TEXT_MAX,
                        codes::TEXT_TOO_LONG,
                        "an `invalid` message",
                        "a text message",
                    );
                }
            }
            _ => {}
        }
    }
    for (_, handler) in walk::handlers(cx.file) {
        walk::each_action(&handler.body, &mut |action| match &action.kind {
            ActionKind::Reply(m) => l.message(&m.kind, m.span),
            ActionKind::Ask { prompt, .. } => l.length(
                prompt,
                TEXT_MAX,
                codes::TEXT_TOO_LONG,
                "a prompt",
                "a text message",
            ),
            _ => {}
        });
    }
    for d in l.diags {
        cx.report(d);
    }
}

struct Limits<'a> {
    syms: &'a Symbols,
    diags: Vec<Diagnostic>,
}

impl Limits<'_> {
    /// Reports a string longer than `max` characters.
    fn length(&mut self, t: &Text, max: usize, code: crate::diag::Code, what: &str, of: &str) {
        let (n, interpolated) = literal_len(t);
        if n <= max {
            return;
        }
        let mut d = Diagnostic::new(
            code,
            format!("{what} is too long ({n} characters, at most {max})"),
            t.span,
            format!("{} characters over", n - max),
        )
        .with_note(format!("WhatsApp allows at most {max} characters in {of}"));
        if interpolated {
            d = d.with_note(
                "only the written text is counted; the `{...}` values make it longer still",
            );
        }
        self.diags.push(d.with_help("shorten it"));
    }

    fn message(&mut self, m: &MessageKind, at: Span) {
        match m {
            MessageKind::Text(t) => self.length(
                t,
                TEXT_MAX,
                codes::TEXT_TOO_LONG,
                "message",
                "a text message",
            ),
            MessageKind::Buttons { body, buttons } => {
                self.length(
                    body,
                    BUTTONS_BODY_MAX,
                    codes::TEXT_TOO_LONG,
                    "message",
                    "the body of a reply-buttons message",
                );
                if buttons.is_empty() || buttons.len() > BUTTONS_MAX {
                    let span = match (buttons.first(), buttons.last()) {
                        (Some(a), Some(b)) => a.span.to(b.span),
                        _ => at,
                    };
                    let help = if buttons.is_empty() {
                        "add at least one button, or send a plain `reply`"
                    } else {
                        "keep three buttons, or use `reply list` for up to 10 options"
                    };
                    self.diags.push(
                        Diagnostic::new(
                            codes::TOO_MANY_BUTTONS,
                            format!(
                                "{} reply buttons, WhatsApp allows 1 to {BUTTONS_MAX}",
                                buttons.len()
                            ),
                            span,
                            format!("{} buttons", buttons.len()),
                        )
                        .with_note("a reply-buttons message has at least 1 and at most 3 buttons")
                        .with_help(help),
                    );
                }
                for b in buttons {
                    self.title(b, BUTTON_TITLE_MAX, codes::BUTTON_TOO_LONG, "button title");
                }
                self.duplicates(buttons, "button");
            }
            MessageKind::List { body, button, rows } => {
                self.length(
                    body,
                    LIST_BODY_MAX,
                    codes::TEXT_TOO_LONG,
                    "message",
                    "the body of a list message",
                );
                self.title(
                    button,
                    LIST_BUTTON_MAX,
                    codes::ROW_TOO_LONG,
                    "list button label",
                );
                if rows.is_empty() || rows.len() > ROWS_MAX {
                    let span = match (rows.first(), rows.last()) {
                        (Some(a), Some(b)) => a.span.to(b.span),
                        _ => at,
                    };
                    self.diags.push(
                        Diagnostic::new(
                            codes::TOO_MANY_ROWS,
                            format!("{} list rows, WhatsApp allows 1 to {ROWS_MAX}", rows.len()),
                            span,
                            format!("{} rows", rows.len()),
                        )
                        .with_note("a list message has at least 1 and at most 10 rows")
                        .with_help(if rows.is_empty() {
                            "add at least one row"
                        } else {
                            "keep ten rows, or ask in two steps (a first list choosing a group)"
                        }),
                    );
                }
                for r in rows {
                    self.title(r, ROW_TITLE_MAX, codes::ROW_TOO_LONG, "list row title");
                }
                self.duplicates(rows, "row");
            }
            MessageKind::Form { body, .. } => self.length(
                body,
                BUTTONS_BODY_MAX,
                codes::TEXT_TOO_LONG,
                "message",
                "the body of a form message",
            ),
            MessageKind::Template { .. } => {}
        }
    }

    fn title(&mut self, t: &Text, max: usize, code: crate::diag::Code, what: &str) {
        let (n, interpolated) = literal_len(t);
        if n <= max {
            return;
        }
        let mut d = Diagnostic::new(
            code,
            format!("{what} `{}` is too long", t.value),
            t.span,
            format!("{n} characters, at most {max}"),
        )
        .with_note(format!(
            "WhatsApp allows at most {max} characters in a {what}"
        ));
        if interpolated {
            d = d.with_note("only the written text is counted");
        }
        self.diags
            .push(d.with_help("shorten it; put details in the message body"));
    }

    /// E0507: two buttons or rows of one message with the same title.
    fn duplicates(&mut self, titles: &[Text], what: &str) {
        for (i, t) in titles.iter().enumerate() {
            // The same title in another case is still one answer to the customer and to
            // `on button`, which compares without regard to case.
            let first = titles
                .iter()
                .take(i)
                .find(|e| e.value.to_lowercase() == t.value.to_lowercase());
            if let Some(first) = first {
                self.diags.push(
                    Diagnostic::new(
                        codes::DUPLICATE_OPTION,
                        format!("{what} `{}` appears twice", t.value),
                        t.span,
                        "same title again",
                    )
                    .with_secondary(first.span, "first here")
                    .with_note(format!(
                        "WhatsApp requires the {what} titles of a message to be unique; we compare them without regard to case"
                    ))
                    .with_help(format!("remove one {what} or rename it")),
                );
            }
        }
    }

    /// A form rule of WhatsApp Flows (E0506).
    fn form_limit(&mut self, at: Span, message: String, label: String, note: &str, help: &str) {
        self.diags.push(
            Diagnostic::new(codes::FORM_LIMIT, message, at, label)
                .with_note(note)
                .with_help(help),
        );
    }

    fn form(&mut self, form: &FormDecl) {
        let (n, _) = literal_len(&form.title);
        if n > FORM_TITLE_MAX {
            self.form_limit(
                form.title.span,
                format!("form title is too long ({n} characters, at most {FORM_TITLE_MAX})"),
                format!("{} characters over", n - FORM_TITLE_MAX),
                "WhatsApp Flows limits the form title to 30 characters",
                "shorten it",
            );
        }
        if form.screens.is_empty() {
            self.form_limit(
                form.name.span,
                format!("form `{}` has no screens", form.name.name),
                "nothing to show".into(),
                "a form has at least one screen with at least one input",
                "add `screen \"Title\" { name: text \"Your name\" }`",
            );
        }
        for (i, screen) in form.screens.iter().enumerate() {
            let (n, _) = literal_len(&screen.title);
            if n > SCREEN_TITLE_MAX {
                self.form_limit(
                    screen.title.span,
                    format!("screen title is too long ({n} characters, at most {SCREEN_TITLE_MAX})"),
                    format!("{} characters over", n - SCREEN_TITLE_MAX),
                    "WhatsApp Flows shows the screen title in the navigation bar, at most 30 characters",
                    "shorten it",
                );
            }
            if let Some(first) = form
                .screens
                .iter()
                .take(i)
                .find(|s| s.title.value == screen.title.value)
            {
                self.diags.push(
                    Diagnostic::new(
                        codes::FORM_LIMIT,
                        format!("two screens of form `{}` are titled `{}`", form.name.name, screen.title.value),
                        screen.title.span,
                        "same title again",
                    )
                    .with_secondary(first.title.span, "first screen with this title")
                    .with_note("screen titles name the screens of a form, so they must be unique within it")
                    .with_help("give each screen its own title"),
                );
            }
            if screen.inputs.is_empty() {
                self.form_limit(
                    screen.span,
                    format!("screen `{}` has no inputs", screen.title.value),
                    "nothing to fill in".into(),
                    "every screen of a form asks for at least one input",
                    "add an input, or remove the screen",
                );
            }
            let components = screen.inputs.len() + FIXED_COMPONENTS;
            if components > COMPONENTS_PER_SCREEN {
                self.form_limit(
                    screen.title.span,
                    format!("screen `{}` has too many inputs ({})", screen.title.value, screen.inputs.len()),
                    format!("{components} components with the heading and the footer"),
                    "WhatsApp Flows allows at most 50 components per screen; each input is one, plus the heading and the footer",
                    "split the inputs over several screens",
                );
            }
            let mut opt_ins = 0;
            for (j, input) in screen.inputs.iter().enumerate() {
                if let Some(first) = screen
                    .inputs
                    .iter()
                    .take(j)
                    .find(|x| x.name.name == input.name.name)
                {
                    self.diags.push(
                        Diagnostic::new(
                            codes::FORM_LIMIT,
                            format!("input `{}` appears twice on one screen", input.name.name),
                            input.name.span,
                            "again here",
                        )
                        .with_secondary(first.name.span, "first here")
                        .with_note("WhatsApp Flows needs input names to be unique within a screen")
                        .with_help("remove one of them"),
                    );
                }
                let kind = match &input.ty {
                    Some(ty) => Some(&ty.kind),
                    None => self.syms.fields.get(&input.name.name).map(|f| &f.kind),
                };
                let Some(kind) = kind else { continue };
                let component = component_of(kind);
                if component.flows_type == "OptIn" {
                    opt_ins += 1;
                    if let Some(max) = component.per_screen
                        && opt_ins == max + 1
                    {
                        self.form_limit(
                            input.name.span,
                            format!("screen `{}` has more than {max} yes/no inputs", screen.title.value),
                            format!("yes/no input number {opt_ins}"),
                            "yes/no inputs become opt-in checkboxes, and WhatsApp Flows allows at most 5 per screen",
                            "move some of them to another screen",
                        );
                    }
                }
                if let Some(label) = &input.label {
                    let (n, _) = literal_len(label);
                    if n > component.label_max {
                        self.form_limit(
                            label.span,
                            format!("label of input `{}` is too long", input.name.name),
                            format!("{n} characters, at most {}", component.label_max),
                            &format!(
                                "this input becomes a {}, whose label WhatsApp Flows limits to {} characters",
                                component.name, component.label_max
                            ),
                            "shorten the label",
                        );
                    }
                }
                if let (FieldKind::Choice(options), Some((_, max))) = (kind, component.options) {
                    // An empty choice is an impossible constraint, reported once as E0307.
                    if options.len() > max {
                        self.form_limit(
                            input.name.span,
                            format!(
                                "choice `{}` has too many options ({})",
                                input.name.name,
                                options.len()
                            ),
                            format!("at most {max} in a {}", component.name),
                            &format!(
                                "WhatsApp Flows allows 1 to {max} options in a {}",
                                component.name
                            ),
                            "offer fewer options, or ask for a text instead",
                        );
                    }
                    for o in options {
                        let (n, _) = literal_len(o);
                        if n > OPTION_TITLE_MAX {
                            self.form_limit(
                                o.span,
                                format!("option `{}` is too long for a form", o.value),
                                format!("{n} characters, at most {OPTION_TITLE_MAX}"),
                                "WhatsApp Flows limits option titles to 30 characters",
                                "shorten the option",
                            );
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::{Expr, ExprKind};

    #[test]
    fn lengths_count_characters_of_the_literal_parts() {
        let t = Text {
            value: "Olá {contact.name}!".into(),
            parts: vec![
                TextPart::Lit("Olá ".into()),
                TextPart::Interp(Expr {
                    kind: ExprKind::Now,
                    span: Span::default(),
                }),
                TextPart::Lit("!".into()),
            ],
            span: Span::default(),
        };
        assert_eq!(literal_len(&t), (5, true));
    }

    #[test]
    fn choices_become_radio_buttons_up_to_twenty_options() {
        let opts = |n: usize| {
            FieldKind::Choice(
                (0..n)
                    .map(|i| Text {
                        value: i.to_string(),
                        parts: Vec::new(),
                        span: Span::default(),
                    })
                    .collect(),
            )
        };
        assert_eq!(component_of(&opts(20)).flows_type, "RadioButtonsGroup");
        assert_eq!(component_of(&opts(21)).flows_type, "Dropdown");
        assert_eq!(component_of(&FieldKind::YesNo).label_max, 120);
    }
}
