//! Checker pass: shadowing — a handler (or part of a trigger) that can never fire because
//! an earlier handler always takes the event first.
//!
//! Handlers are tried in order, the `anywhere` handlers first, then the stage's own; the
//! first that matches takes the event. Only an earlier handler without a `when` guard
//! shadows. W0602 is reported for:
//! - any message-triggered handler after an unguarded `otherwise` or `on message`;
//! - keywords already listed by an earlier `on keyword`, compared after folding case and
//!   accents exactly as the engine does ("Não" is "nao"), and keywords that hold an
//!   earlier keyword as a whole word ("segunda via" after "via": the engine finds "via" in
//!   every such message and the earlier handler wins); when only some keywords of a
//!   trigger are taken, each of those is labelled;
//! - the same for `on button` titles and `on choice` rows (folded like keywords, as the
//!   engine compares taps), and an `on regex` with the same pattern;
//! - a media kind already taken (`on image` after `on media`), and `on media` once all
//!   five media kinds are taken;
//! - a second `on form F submitted` for the same form, a second `on event E` for the
//!   same event, and a second `on enter`.
//!
//! Timers never shadow each other: every timer fires, and two of the same length (twice
//! `after 10m silence`, or one in `anywhere` and one in the stage) fire one after the
//! other in source order, each unless an earlier one moved or closed the card.

use super::Cx;
use super::graph::Graph;
use super::totality::{Kind, media_kinds};
use super::window::duration;
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{Handler, Text, TriggerKind};
use crate::syntax::span::Span;
use std::collections::HashMap;

/// Folds a keyword, button title or row title the way the engine compares them
/// (`compile::fold::fold_answer`): accents dropped, lowercase, runs of whitespace
/// collapsed, trimmed.
pub(crate) fn fold(s: &str) -> String {
    crate::compile::fold::fold_answer(s)
}

/// The earliest keyword taken above that every message with `keyword` (folded) holds as
/// a whole word, as the engine matches keywords: itself, or a shorter keyword inside it
/// (`"via"` inside `"segunda via"`).
fn taken_keyword<'t>(keyword: &str, taken: &'t HashMap<String, Span>) -> Option<(&'t str, Span)> {
    if let Some((k, at)) = taken.get_key_value(keyword) {
        return Some((k.as_str(), *at));
    }
    taken
        .iter()
        .filter(|(k, _)| !k.is_empty() && contains_word(keyword, k))
        .min_by_key(|(k, at)| (**at, k.as_str()))
        .map(|(k, at)| (k.as_str(), *at))
}

/// Whether `word` occurs in `text` with no letter or digit on either side.
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(start, m)| {
        let before = text[..start].chars().next_back();
        let after = text[start + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// What earlier unguarded handlers already take, each with the span of the trigger that
/// takes it.
#[derive(Clone, Debug, Default)]
struct Taken {
    every_message: Option<Span>,
    keywords: HashMap<String, Span>,
    regexes: HashMap<String, Span>,
    buttons: HashMap<String, Span>,
    choices: HashMap<String, Span>,
    media: HashMap<u8, Span>,
    forms: HashMap<String, Span>,
    intents: HashMap<String, Span>,
    events: HashMap<String, Span>,
    enter: Option<Span>,
}

/// Why a handler, or some options of its trigger, never fire.
struct Finding {
    /// Primary span and label.
    at: (Span, String),
    /// Further labels on the same handler (other shadowed keywords).
    more: Vec<(Span, String)>,
    /// The earlier triggers that take the event first.
    earlier: Vec<Span>,
    message: String,
    help: &'static str,
}

fn is_message_trigger(t: &TriggerKind) -> bool {
    !matches!(
        t,
        TriggerKind::Enter
            | TriggerKind::Silence(_)
            | TriggerKind::InStage(_)
            | TriggerKind::Event { .. }
    )
}

fn trigger_name(t: &TriggerKind) -> String {
    match t {
        TriggerKind::Enter => "`on enter`".into(),
        TriggerKind::Message => "`on message`".into(),
        TriggerKind::Keyword(_) => "`on keyword`".into(),
        TriggerKind::Regex(_) => "`on regex`".into(),
        TriggerKind::Button(_) => "`on button`".into(),
        TriggerKind::Choice(_) => "`on choice`".into(),
        TriggerKind::Media(m) => format!("`on {}`", m.as_str()),
        TriggerKind::FormSubmitted(f) => format!("`on form {} submitted`", f.name),
        TriggerKind::Intent(_) => "`on intent`".into(),
        TriggerKind::Event { name, .. } => format!("`on event {}`", name.name),
        TriggerKind::When => "`when`".into(),
        TriggerKind::Silence(d) => format!("`after {} silence`", duration(d.seconds)),
        TriggerKind::InStage(d) => format!("`after {} in stage`", duration(d.seconds)),
        TriggerKind::Otherwise => "`otherwise`".into(),
    }
}

fn dedup(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    spans.dedup();
    spans
}

/// Options of a list trigger (keywords, buttons, rows) already taken above.
fn options(
    h: &Handler,
    items: &[Text],
    taken: &HashMap<String, Span>,
    key: fn(&str) -> String,
    noun: &str,
) -> Option<Finding> {
    let hits: Vec<(&Text, Span)> = items
        .iter()
        .filter_map(|t| taken.get(&key(&t.value)).map(|at| (t, *at)))
        .collect();
    finding(h, items, hits, noun)
}

/// Keywords already taken above: the same keyword, or a whole-word keyword inside it.
fn taken_keywords(h: &Handler, items: &[Text], taken: &HashMap<String, Span>) -> Option<Finding> {
    let hits: Vec<(&Text, Span, Option<&str>)> = items
        .iter()
        .filter_map(|t| {
            let own = fold(&t.value);
            taken_keyword(&own, taken).map(|(k, at)| (t, at, (k != own).then_some(k)))
        })
        .collect();
    let inside: Vec<(Span, String)> = hits
        .iter()
        .filter_map(|(t, _, k)| {
            k.map(|k| {
                (
                    t.span,
                    format!("every message with it holds \"{k}\", which an earlier handler takes"),
                )
            })
        })
        .collect();
    let mut f = finding(
        h,
        items,
        hits.iter().map(|(t, at, _)| (*t, *at)).collect(),
        "keyword",
    )?;
    if !inside.is_empty() && f.more.len() + 1 < items.len() {
        f.help = "move this handler above the one that matches first, or remove those keywords";
    }
    for (span, label) in inside {
        if f.at.0 == span {
            f.at.1 = label;
        } else if let Some(m) = f.more.iter_mut().find(|(s, _)| *s == span) {
            m.1 = label;
        } else {
            f.more.push((span, label));
        }
    }
    Some(f)
}

/// The finding for options of a list trigger taken above (`hits`: each with the earlier
/// trigger that takes it).
fn finding(h: &Handler, items: &[Text], hits: Vec<(&Text, Span)>, noun: &str) -> Option<Finding> {
    if hits.is_empty() {
        return None;
    }
    let earlier = dedup(hits.iter().map(|(_, at)| *at).collect());
    if hits.len() == items.len() {
        return Some(Finding {
            at: (
                h.trigger.span,
                format!("every {noun} here is taken by an earlier handler"),
            ),
            more: Vec::new(),
            earlier,
            message: format!("{} handler can never fire", trigger_name(&h.trigger.kind)),
            help: "remove this handler, or merge its actions into the one that matches first",
        });
    }
    let listed: Vec<String> = hits
        .iter()
        .map(|(t, _)| format!("\"{}\"", t.value))
        .collect();
    let label = "already taken by an earlier handler".to_string();
    let mut spans = hits.iter().map(|(t, _)| t.span);
    let first = spans.next().unwrap_or(h.trigger.span);
    Some(Finding {
        at: (first, label.clone()),
        more: spans.map(|s| (s, label.clone())).collect(),
        earlier,
        message: if hits.len() == 1 {
            format!("{noun} {} can never fire here", listed.join(", "))
        } else {
            format!("{noun}s {} can never fire here", listed.join(", "))
        },
        help: if noun == "keyword" {
            "remove the repeated keywords from this trigger"
        } else {
            "remove the repeated titles from this trigger"
        },
    })
}

fn media_bit(k: Kind) -> u8 {
    k as u8
}

impl Taken {
    /// Why `h` never fires given what is taken, if it never does.
    fn shadows(&self, h: &Handler) -> Option<Finding> {
        let kind = &h.trigger.kind;
        let whole = |earlier: Span, why: &str| Finding {
            at: (h.trigger.span, why.to_string()),
            more: Vec::new(),
            earlier: vec![earlier],
            message: format!("{} handler can never fire", trigger_name(kind)),
            help: "remove this handler, or merge its actions into the one that matches first",
        };
        if is_message_trigger(kind)
            && let Some(at) = self.every_message
        {
            return Some(Finding {
                help: "move this handler above the one that matches first, or remove it",
                ..whole(at, "an earlier handler takes every message")
            });
        }
        match kind {
            TriggerKind::Keyword(words) => taken_keywords(h, words, &self.keywords),
            TriggerKind::Button(titles) => options(h, titles, &self.buttons, fold, "button"),
            TriggerKind::Choice(rows) => options(h, rows, &self.choices, fold, "choice"),
            TriggerKind::Regex(re) => self
                .regexes
                .get(&re.source)
                .map(|at| whole(*at, "the same pattern is matched by an earlier handler")),
            TriggerKind::Media(m) => {
                let kinds = media_kinds(*m);
                let hits: Vec<Span> = kinds
                    .iter()
                    .filter_map(|k| self.media.get(&media_bit(*k)).copied())
                    .collect();
                (hits.len() == kinds.len() && !hits.is_empty()).then(|| Finding {
                    earlier: dedup(hits),
                    ..whole(
                        h.trigger.span,
                        if kinds.len() == 1 {
                            "an earlier handler takes every message of this kind"
                        } else {
                            "earlier handlers take every kind of media"
                        },
                    )
                })
            }
            TriggerKind::FormSubmitted(f) => self
                .forms
                .get(&f.name)
                .map(|at| whole(*at, "an earlier handler takes this form")),
            TriggerKind::Intent(ids) => {
                let hits: Vec<(Span, Span)> = ids
                    .iter()
                    .filter_map(|i| self.intents.get(&i.name).map(|at| (i.span, *at)))
                    .collect();
                if hits.is_empty() {
                    None
                } else if hits.len() == ids.len() {
                    Some(Finding {
                        earlier: dedup(hits.iter().map(|(_, at)| *at).collect()),
                        ..whole(
                            h.trigger.span,
                            "every intent here is taken by an earlier handler",
                        )
                    })
                } else {
                    let label = "already taken by an earlier handler".to_string();
                    let mut spans = hits.iter().map(|(s, _)| *s);
                    let first = spans.next().unwrap_or(h.trigger.span);
                    Some(Finding {
                        at: (first, label.clone()),
                        more: spans.map(|s| (s, label.clone())).collect(),
                        earlier: dedup(hits.iter().map(|(_, at)| *at).collect()),
                        message: "an intent here can never fire".into(),
                        help: "remove the repeated intents from this trigger",
                    })
                }
            }
            TriggerKind::Event { name, .. } => self
                .events
                .get(&name.name)
                .map(|at| whole(*at, "an earlier handler takes this event")),
            TriggerKind::Enter => self
                .enter
                .map(|at| whole(at, "the earlier `on enter` runs instead")),
            // Every timer fires, those of the same length one after the other in source
            // order (docs/semantics.md): none shadows another.
            TriggerKind::Silence(_)
            | TriggerKind::InStage(_)
            | TriggerKind::Message
            | TriggerKind::When
            | TriggerKind::Otherwise => None,
        }
    }

    /// Records what an unguarded handler takes. The first taker of an event is kept.
    fn add(&mut self, h: &Handler) {
        if h.guard.is_some() {
            return;
        }
        let at = h.trigger.span;
        match &h.trigger.kind {
            TriggerKind::Message | TriggerKind::Otherwise => {
                self.every_message.get_or_insert(at);
            }
            TriggerKind::Keyword(words) => {
                for w in words {
                    self.keywords.entry(fold(&w.value)).or_insert(at);
                }
            }
            TriggerKind::Button(titles) => {
                for t in titles {
                    self.buttons.entry(fold(&t.value)).or_insert(at);
                }
            }
            TriggerKind::Choice(rows) => {
                for r in rows {
                    self.choices.entry(fold(&r.value)).or_insert(at);
                }
            }
            TriggerKind::Regex(re) => {
                self.regexes.entry(re.source.clone()).or_insert(at);
            }
            TriggerKind::Media(m) => {
                for k in media_kinds(*m) {
                    self.media.entry(media_bit(*k)).or_insert(at);
                }
            }
            TriggerKind::FormSubmitted(f) => {
                self.forms.entry(f.name.clone()).or_insert(at);
            }
            TriggerKind::Intent(ids) => {
                for i in ids {
                    self.intents.entry(i.name.clone()).or_insert(at);
                }
            }
            TriggerKind::Event { name, .. } => {
                self.events.entry(name.name.clone()).or_insert(at);
            }
            TriggerKind::Enter => {
                self.enter.get_or_insert(at);
            }
            TriggerKind::Silence(_) | TriggerKind::InStage(_) | TriggerKind::When => {}
        }
    }

    /// Checks handlers in order against what is taken, recording each in turn.
    fn scan<'h>(
        &mut self,
        handlers: impl IntoIterator<Item = &'h Handler>,
        in_stage: bool,
        anywhere: &[Span],
        cx: &mut Cx,
    ) {
        for h in handlers {
            if let Some(mut f) = self.shadows(h) {
                // Moving a stage handler up cannot put it before an `anywhere` one.
                if in_stage && f.earlier.iter().all(|e| anywhere.contains(e)) {
                    f.help = "`anywhere` handlers are tried before the stage's own: remove \
                              this handler, or add a `when` guard to the `anywhere` one";
                }
                cx.report(diagnostic(f));
            }
            self.add(h);
        }
    }
}

fn diagnostic(f: Finding) -> Diagnostic {
    let mut d = Diagnostic::new(codes::SHADOWED, f.message, f.at.0, f.at.1);
    for (span, label) in f.more {
        d = d.with_secondary(span, label);
    }
    for at in f.earlier {
        d = d.with_secondary(at, "this handler matches first");
    }
    d.with_note(
        "handlers are tried in order, `anywhere` handlers before the stage's own; the \
         first that matches takes the event, and only handlers without `when` always match",
    )
    .with_help(f.help)
}

pub(crate) fn run(cx: &mut Cx) {
    let g = Graph::build(cx.file, cx.syms);
    let anywhere: Vec<Span> = g.anywhere.iter().map(|h| h.trigger.span).collect();
    let mut taken = Taken::default();
    taken.scan(g.anywhere.iter().copied(), false, &anywhere, cx);
    for stage in &g.stages {
        taken.clone().scan(&stage.handlers, true, &anywhere, cx);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::syntax::ast::{DurationLit, MediaKind, TriggerKind as T};

    fn findings(items: Vec<crate::syntax::ast::Item>) -> Vec<(String, usize)> {
        check_with(items, super::run)
            .into_iter()
            .map(|d| (d.message, d.secondary.len()))
            .collect()
    }

    #[test]
    fn folding_drops_case_accents_and_extra_spaces() {
        assert_eq!(fold("Não"), "nao");
        assert_eq!(fold("  SEGUNDA   Via "), "segunda via");
        assert_eq!(fold("ÇÃO"), fold("cao"));
    }

    #[test]
    fn catch_alls_shadow_every_message_handler_but_not_timers() {
        let items = vec![
            flow(),
            stage(
                "a",
                vec![
                    on(T::Otherwise, vec![close()]),
                    on(keywords(&["x"]), vec![close()]),
                    handler(T::When, Some(path("f")), vec![close()]),
                    on(
                        T::Silence(DurationLit {
                            seconds: 60,
                            span: sp(),
                        }),
                        vec![close()],
                    ),
                ],
            ),
        ];
        assert_eq!(
            findings(items),
            vec![
                ("`on keyword` handler can never fire".to_string(), 1),
                ("`when` handler can never fire".to_string(), 1),
            ]
        );
    }

    #[test]
    fn guarded_handlers_do_not_shadow() {
        let items = vec![
            flow(),
            stage(
                "a",
                vec![
                    handler(T::Message, Some(path("f")), vec![close()]),
                    on(T::Otherwise, vec![close()]),
                ],
            ),
        ];
        assert!(findings(items).is_empty());
    }

    #[test]
    fn keywords_are_compared_folded_and_partly_reported() {
        let items = vec![
            flow(),
            stage(
                "a",
                vec![
                    on(keywords(&["Não", "boleto"]), vec![close()]),
                    on(keywords(&["nao", "fatura", "BOLETO"]), vec![close()]),
                    on(keywords(&["NÃO"]), vec![close()]),
                ],
            ),
        ];
        assert_eq!(
            findings(items),
            vec![
                // Two keywords labelled, one earlier handler.
                (
                    "keywords \"nao\", \"BOLETO\" can never fire here".to_string(),
                    2
                ),
                ("`on keyword` handler can never fire".to_string(), 1),
            ]
        );
    }

    #[test]
    fn anywhere_handlers_come_first_and_are_checked_once() {
        let items = vec![
            flow(),
            stage("a", vec![on(T::Media(MediaKind::Image), vec![close()])]),
            stage("b", vec![on(T::Media(MediaKind::Location), vec![close()])]),
            anywhere(vec![
                on(T::Media(MediaKind::AnyMedia), vec![close()]),
                on(T::Enter, vec![close()]),
                on(T::Enter, vec![close()]),
            ]),
        ];
        assert_eq!(
            findings(items),
            vec![
                ("`on enter` handler can never fire".to_string(), 1),
                ("`on image` handler can never fire".to_string(), 1),
            ]
        );
    }
}
