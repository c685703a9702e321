//! Checker pass: intents, knowledge bases and AI steps.
//!
//! - E1001: a knowledge file the front could not read;
//! - E1002: a knowledge file without any section;
//! - E1003: two sections of one knowledge file with the same heading;
//! - E1004: an intent without examples;
//! - E1005: a `classify` whose possible answers some stage does not handle;
//! - W1006: confusable intents: an example that, held out, classifies as another intent;
//! - W1007: an `on intent` handler whose every example an earlier keyword or regex
//!   handler takes first.
//!
//! Section texts longer than WhatsApp's 4096 characters are E0505, as for `reply`.

use super::Cx;
use super::knowledge::{Loaded, sections};
use super::walk::{self, Owner};
use crate::compile::fold::{KeywordMatcher, fold};
use crate::compile::intents;
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{ActionKind, Handler, Ident, Item, Text, TriggerKind};
use crate::syntax::span::Span;
use std::collections::BTreeMap;

/// The confidence from which a held-out example taken for another intent is reported
/// (or twice that intent's threshold, if higher).
const CONFIDENT: f32 = 0.30;

/// WhatsApp's limit on a text message, in characters.
const TEXT_LIMIT: usize = 4096;

pub(crate) fn run(cx: &mut Cx) {
    knowledge_files(cx);
    empty_intents(cx);
    confusable(cx);
    caught_first(cx);
    unhandled_choices(cx);
}

fn knowledge_files(cx: &mut Cx) {
    for item in &cx.file.items {
        let Item::Knowledge(k) = item else { continue };
        let path = &k.path.value;
        match cx.res.get(path) {
            None => {}
            Some(Loaded::Missing(why)) => cx.report(
                Diagnostic::new(
                    codes::KNOWLEDGE_MISSING,
                    format!("knowledge file `{path}` cannot be read"),
                    k.path.span,
                    why.clone(),
                )
                .with_note("a knowledge file is read when the script is loaded; its path is relative to the script's folder")
                .with_help("check the path and that the file exists and is UTF-8 text"),
            ),
            Some(Loaded::Text(text)) => {
                let secs = sections(text);
                if secs.is_empty() {
                    cx.report(
                        Diagnostic::new(
                            codes::KNOWLEDGE_EMPTY,
                            format!("knowledge file `{path}` has no sections"),
                            k.path.span,
                            "nothing here that `answer` could quote",
                        )
                        .with_note("each entry is a Markdown heading (`## How do I ...?`) followed by the text to quote")
                        .with_help("add a heading and its answer for each question"),
                    );
                }
                let mut seen: BTreeMap<String, usize> = BTreeMap::new();
                for s in &secs {
                    if let Some(first) = seen.get(&fold(&s.heading)) {
                        cx.report(
                            Diagnostic::new(
                                codes::KNOWLEDGE_DUPLICATE,
                                format!("section `{}` appears twice in `{path}`", s.heading),
                                k.path.span,
                                format!("lines {first} and {}", s.line),
                            )
                            .with_note("sections are told apart by their headings (case and accents aside); only the first one could ever be quoted")
                            .with_help("merge the two sections, or give one a different heading"),
                        );
                    } else {
                        seen.insert(fold(&s.heading), s.line);
                    }
                    let len = s.body.chars().count();
                    if len > TEXT_LIMIT {
                        cx.report(
                            Diagnostic::new(
                                codes::TEXT_TOO_LONG,
                                format!("section `{}` of `{path}` is too long to send", s.heading),
                                k.path.span,
                                format!("{len} characters at line {}", s.line),
                            )
                            .with_note(format!("a WhatsApp text message holds at most {TEXT_LIMIT} characters, and `answer` quotes a section whole"))
                            .with_help("split the section into shorter ones"),
                        );
                    }
                }
            }
        }
    }
}

fn empty_intents(cx: &mut Cx) {
    for item in &cx.file.items {
        let Item::Intent(i) = item else { continue };
        if i.examples.iter().all(|e| fold(&e.value).trim().is_empty()) {
            cx.report(
                Diagnostic::new(
                    codes::INTENT_NO_EXAMPLES,
                    format!("intent `{}` has no examples", i.name.name),
                    i.name.span,
                    "nothing to learn from",
                )
                .with_note("an intent is recognised by resemblance to its examples; without any, no message is ever classified as it")
                .with_help("add `examples \"...\", \"...\"` with a few ways customers say it, in each language they use"),
            );
        }
    }
}

/// The span of the example with this exact text in the intent's declaration.
fn example_span(cx: &Cx, intent: &str, text: &str) -> Option<Span> {
    cx.file.items.iter().find_map(|item| match item {
        Item::Intent(i) if i.name.name == intent => {
            i.examples.iter().find(|e| e.value == text).map(|e| e.span)
        }
        _ => None,
    })
}

/// A held-out example taken for another intent: its text, the confidence, and the
/// other intent's nearest example.
type Confused = (String, f32, Option<String>);

fn confusable(cx: &mut Cx) {
    if !cx.file.items.iter().any(|i| matches!(i, Item::Intent(_))) {
        return;
    }
    let model = intents::intents(cx.file);
    // (intent, classified as) -> the examples, with the nearest example of the other.
    let mut pairs: BTreeMap<(String, String), Vec<Confused>> = BTreeMap::new();
    for h in model.model.held_out() {
        let verdict = model.decide(h.ranking);
        let Some(got) = verdict.intent else { continue };
        // Only a confident mistake is reported; weak ones are in `wafl test --intents`.
        let confident = (2.0 * model.threshold_of(&got)).max(CONFIDENT);
        if got == h.label || verdict.confidence < confident {
            continue;
        }
        let nearest = verdict.ranking.best().and_then(|b| b.nearest.clone());
        pairs.entry((h.label.clone(), got)).or_default().push((
            h.example,
            verdict.confidence,
            nearest,
        ));
    }
    let mut summary: Vec<(usize, String)> = pairs
        .iter()
        .map(|((a, b), v)| (v.len(), format!("`{a}` -> `{b}` ({})", v.len())))
        .collect();
    summary.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    let closest: Vec<String> = summary.into_iter().take(3).map(|(_, s)| s).collect();
    for ((intent, other), examples) in &pairs {
        let spans: Vec<Span> = examples
            .iter()
            .filter_map(|(e, _, _)| example_span(cx, intent, e))
            .collect();
        let Some((&first, rest)) = spans.split_first() else {
            continue;
        };
        let (example, conf, nearest) = match examples.first() {
            Some(x) => x,
            None => continue,
        };
        let mut d = Diagnostic::new(
            codes::CONFUSABLE_INTENTS,
            format!("intents `{intent}` and `{other}` are confusable"),
            first,
            format!("classifies as `{other}` ({conf:.2})"),
        );
        for s in rest {
            d = d.with_secondary(*s, format!("also classifies as `{other}`"));
        }
        if let Some(near) = nearest
            && let Some(at) = example_span(cx, other, near)
        {
            d = d.with_secondary(at, format!("the closest example of `{other}`"));
        }
        d = d
            .with_note(format!(
                "held out of `{intent}`, the example {example:?} is taken for `{other}`: a customer who writes it may be routed wrong"
            ))
            .with_note(format!("closest pairs: {}", closest.join(", ")))
            .with_help(format!(
                "reword or move the example, add examples that tell `{intent}` from `{other}` apart, or merge the two intents; `wafl test --intents` shows every prediction"
            ));
        cx.report(d);
    }
}

/// The keyword and regex handlers tried before an intent handler, unguarded.
struct Catchers<'a> {
    keywords: Vec<(&'a Handler, KeywordMatcher)>,
    regexes: Vec<(&'a Handler, regex::Regex)>,
}

impl<'a> Catchers<'a> {
    fn new() -> Self {
        Catchers {
            keywords: Vec::new(),
            regexes: Vec::new(),
        }
    }

    fn add(&mut self, h: &'a Handler) {
        if h.guard.is_some() {
            return;
        }
        match &h.trigger.kind {
            TriggerKind::Keyword(ws) => {
                let m = KeywordMatcher::new(ws.iter().map(|w| (w.value.as_str(), 0)));
                self.keywords.push((h, m));
            }
            TriggerKind::Regex(r) => {
                if let Ok(re) = regex::Regex::new(&r.source) {
                    self.regexes.push((h, re));
                }
            }
            _ => {}
        }
    }

    /// The earlier handler that takes this text, if any.
    fn catcher(&self, text: &str) -> Option<&'a Handler> {
        let folded = fold(text);
        for (h, m) in &self.keywords {
            if !m.hits(&folded).is_empty() {
                return Some(h);
            }
        }
        self.regexes
            .iter()
            .find(|(_, re)| re.is_match(text))
            .map(|(h, _)| *h)
    }
}

fn caught_first(cx: &mut Cx) {
    let examples: BTreeMap<&str, &[Text]> = cx
        .file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Intent(d) => Some((d.name.name.as_str(), d.examples.as_slice())),
            _ => None,
        })
        .collect();
    if examples.is_empty() {
        return;
    }
    let anywhere: Vec<&Handler> = walk::anywhere_handlers(cx.file).collect();
    let mut found: Vec<Diagnostic> = Vec::new();
    let scan = |list: &[&Handler], from: usize, found: &mut Vec<Diagnostic>| {
        let mut c = Catchers::new();
        for (k, h) in list.iter().enumerate() {
            if k >= from
                && let TriggerKind::Intent(ids) = &h.trigger.kind
            {
                for id in ids {
                    if let Some(d) = caught(&c, id, examples.get(id.name.as_str()).copied()) {
                        if !found.contains(&d) {
                            found.push(d);
                        }
                    }
                }
            }
            c.add(h);
        }
    };
    scan(&anywhere, 0, &mut found);
    for stage in walk::stages(cx.file) {
        let list: Vec<&Handler> = anywhere
            .iter()
            .copied()
            .chain(stage.handlers.iter())
            .collect();
        scan(&list, anywhere.len(), &mut found);
    }
    for d in found {
        cx.report(d);
    }
}

fn caught(c: &Catchers<'_>, id: &Ident, examples: Option<&[Text]>) -> Option<Diagnostic> {
    let examples = examples.filter(|e| !e.is_empty())?;
    let mut by: Vec<&Handler> = Vec::new();
    for e in examples {
        let h = c.catcher(&e.value)?;
        if !by.iter().any(|x| std::ptr::eq(*x, h)) {
            by.push(h);
        }
    }
    let mut d = Diagnostic::new(
        codes::INTENT_CAUGHT_FIRST,
        format!("intent `{}` is always caught first", id.name),
        id.span,
        "every example of this intent is taken by an earlier handler",
    );
    for h in &by {
        d = d.with_secondary(h.trigger.span, "this handler takes them first");
    }
    Some(
        d.with_note("handlers are tried in order, `anywhere` first; a keyword or regex handler above takes a message before the classifier's verdict is looked at")
            .with_help("move the `on intent` handler above the keyword or regex handler, or narrow their keywords"),
    )
}

fn unhandled_choices(cx: &mut Cx) {
    let declared: Vec<&Ident> = cx
        .file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Intent(d) => Some(&d.name),
            _ => None,
        })
        .collect();
    fn handled<'h>(mut hs: impl Iterator<Item = &'h Handler>, name: &str) -> bool {
        hs.any(|h| matches!(&h.trigger.kind, TriggerKind::Intent(ids) if ids.iter().any(|i| i.name == name)))
    }
    let mut found = Vec::new();
    for (owner, h) in walk::handlers(cx.file) {
        walk::each_action(&h.body, &mut |a| {
            let ActionKind::Classify { into, .. } = &a.kind else {
                return;
            };
            let choices: Vec<&str> = if into.is_empty() {
                declared.iter().map(|i| i.name.as_str()).collect()
            } else {
                into.iter().map(|i| i.name.as_str()).collect()
            };
            let stages: Vec<&crate::syntax::ast::StageDecl> = match owner {
                Owner::Stage(s) => vec![s],
                Owner::Anywhere(_) => walk::stages(cx.file).collect(),
            };
            for choice in choices {
                let in_anywhere = handled(walk::anywhere_handlers(cx.file), choice);
                let missing: Vec<&str> = stages
                    .iter()
                    .filter(|s| !in_anywhere && !handled(s.handlers.iter(), choice))
                    .map(|s| s.name.name.as_str())
                    .collect();
                if missing.is_empty() {
                    continue;
                }
                let at = into
                    .iter()
                    .find(|i| i.name == choice)
                    .map_or(a.span, |i| i.span);
                found.push(
                    Diagnostic::new(
                        codes::AI_CHOICE_UNHANDLED,
                        format!("`classify` can answer `{choice}`, which nothing handles"),
                        at,
                        format!(
                            "no `on intent {choice}` in {}",
                            missing
                                .iter()
                                .map(|s| format!("stage `{s}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .with_note("the model's pick runs the first `on intent` handler for it, in `anywhere` or the stage; with none, the pick would be lost")
                    .with_help(format!(
                        "add `on intent {choice} {{ ... }}` to the stage, or leave `{choice}` out of `into`"
                    )),
                );
            }
        });
    }
    for d in found {
        cx.report(d);
    }
}
