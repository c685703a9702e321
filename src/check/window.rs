//! Checker pass: the 24-hour customer service window — no free-form message is sent
//! where the window is surely closed.
//!
//! WhatsApp accepts free-form messages only within 24 hours of the customer's last
//! message; afterwards it rejects them (error 131047) and only approved templates get
//! through. The rules:
//! - A timer `after D silence` or `after D in stage` with `D` of 24 hours or more fires
//!   when the customer's last message is at least `D` ago: the window is closed.
//! - In such a handler, a free-form send is E0408: `reply` with text, buttons, a list or a
//!   form, and the prompt of `ask`. `send template`/`reply template` is fine.
//! - An `ask` waits for the customer's answer, which reopens the window: what follows it
//!   (and its `else` fallback) is not checked. A path through an `if` keeps the window
//!   closed only when both branches do.
//! - A `goto T` run while the window is closed carries that into `T`: the free-form sends
//!   of `T`'s `on enter` handlers (those that may run: up to the first without a guard)
//!   are reported too, and so on through the `goto`s those run before any `ask`.

use super::Cx;
use super::graph::Graph;
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{Action, ActionKind, Block, Handler, MessageKind, TriggerKind};
use crate::syntax::span::Span;

/// The length of the service window, in seconds.
pub(crate) const WINDOW_SECS: u64 = 24 * 60 * 60;

/// A duration the way scripts tend to write it: whole weeks or days as `2d`, anything
/// else from hours down (`25h`, `1h30m`), so `after 25h silence` reads back as `25h`.
pub(crate) fn duration(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".into();
    }
    // Whole days keep the units from days up; anything else the units from hours down.
    let whole_days = seconds % 86_400 == 0;
    let units = crate::syntax::vocab::DURATION_UNITS
        .iter()
        .filter(|(_, size, _)| (*size >= 86_400) == whole_days);
    let mut out = String::new();
    let mut rest = seconds;
    for &(unit, size, _) in units {
        let n = rest / size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            rest %= size;
        }
    }
    out
}

/// The free-form send of an action, and the word for it: `reply` or `ask`.
fn free_form(a: &Action) -> Option<&'static str> {
    match &a.kind {
        ActionKind::Reply(m) => match m.kind {
            MessageKind::Template { .. } => None,
            MessageKind::Text(_)
            | MessageKind::Buttons { .. }
            | MessageKind::List { .. }
            | MessageKind::Form { .. } => Some("reply"),
        },
        ActionKind::Ask { .. } => Some("ask"),
        // `answer` quotes a section as a text message.
        ActionKind::Answer { .. } => Some("answer"),
        _ => None,
    }
}

/// Where to point at a send: for an `ask`, from the keyword to the end of its prompt,
/// leaving out `tries` and the fallback.
fn send_span(a: &Action) -> Span {
    match &a.kind {
        ActionKind::Ask { prompt, .. } if prompt.span.end <= a.span.end => Span {
            end: prompt.span.end,
            ..a.span
        },
        _ => a.span,
    }
}

/// A timer handler that only fires once the window is closed: its trigger span and
/// what the timer waits for.
fn late_timer(h: &Handler) -> Option<(Span, String)> {
    match &h.trigger.kind {
        TriggerKind::Silence(d) if d.seconds >= WINDOW_SECS => Some((
            h.trigger.span,
            format!("this timer fires after {} of silence", duration(d.seconds)),
        )),
        TriggerKind::InStage(d) if d.seconds >= WINDOW_SECS => Some((
            h.trigger.span,
            format!(
                "this timer fires {} after the card entered the stage",
                duration(d.seconds)
            ),
        )),
        _ => None,
    }
}

/// What a scan found while the window is closed.
#[derive(Default)]
struct Found {
    sends: Vec<(Span, &'static str)>,
    gotos: Vec<(Span, String)>,
}

/// Scans a block run while the window is closed. Returns whether it is still surely
/// closed at the end (no `ask` on some path).
fn scan(b: &Block, found: &mut Found) -> bool {
    for a in &b.actions {
        if let Some(word) = free_form(a) {
            found.sends.push((send_span(a), word));
        }
        match &a.kind {
            // The answer reopens the window, for what follows and for the fallback.
            ActionKind::Ask { .. } => return false,
            // A webhook answers, not the customer: the window stays closed.
            ActionKind::Call {
                fallback: Some(fb), ..
            } => {
                scan(fb, found);
            }
            ActionKind::If {
                then, otherwise, ..
            } => {
                let t = scan(then, found);
                let e = otherwise.as_ref().is_none_or(|b| scan(b, found));
                if !(t && e) {
                    return false;
                }
            }
            ActionKind::Goto(t) => {
                found.gotos.push((a.span, t.name.clone()));
                return true;
            }
            _ => {}
        }
    }
    true
}

fn report_send(at: Span, word: &str, label: String, timer: &(Span, String)) -> Diagnostic {
    Diagnostic::new(
        codes::WINDOW_CLOSED,
        format!("free-form `{word}` outside the 24-hour window"),
        at,
        label,
    )
    .with_secondary(timer.0, timer.1.clone())
    .with_note(
        "WhatsApp accepts free-form messages only within 24 hours of the customer's last \
         message; after that it rejects them (error 131047) and only approved templates \
         get through",
    )
    .with_help("send an approved template instead: `send template NAME(...)`")
}

/// A free-form send that runs while the window is closed: where, `reply` or `ask`, and,
/// when it sits in an `on enter` handler, the `goto` that leads there and its target.
pub(crate) struct ClosedSend {
    pub at: Span,
    pub word: &'static str,
    pub via: Option<(Span, String)>,
}

/// The free-form sends of a block run while the window is closed, then those of the `on
/// enter` handlers its `goto`s reach before any `ask`, and so on. `entered` marks the
/// stages whose `on enter` sends were already reported, so each is reported once.
pub(crate) fn closed_sends(g: &Graph, body: &Block, entered: &mut [bool]) -> Vec<ClosedSend> {
    let mut found = Found::default();
    scan(body, &mut found);
    let mut out: Vec<ClosedSend> = found
        .sends
        .into_iter()
        .map(|(at, word)| ClosedSend {
            at,
            word,
            via: None,
        })
        .collect();
    let mut queue = found.gotos;
    while let Some((goto_span, target)) = queue.pop() {
        let Some(t) = g.stage(&target) else { continue };
        match entered.get_mut(t) {
            Some(seen) if !*seen => *seen = true,
            _ => continue,
        }
        let Some(stage) = g.stages.get(t) else {
            continue;
        };
        let mut found = Found::default();
        // Entering runs the first `on enter` whose guard holds: any of them up to the
        // first without a guard.
        for eh in stage
            .handlers
            .iter()
            .filter(|eh| eh.trigger.kind == TriggerKind::Enter)
        {
            scan(&eh.body, &mut found);
            if eh.guard.is_none() {
                break;
            }
        }
        out.extend(found.sends.into_iter().map(|(at, word)| ClosedSend {
            at,
            word,
            via: Some((goto_span, target.clone())),
        }));
        queue.extend(found.gotos);
    }
    out
}

pub(crate) fn run(cx: &mut Cx) {
    let g = Graph::build(cx.file, cx.syms);
    let timers = g
        .stages
        .iter()
        .flat_map(|s| &s.handlers)
        .chain(g.anywhere.iter().copied())
        .filter_map(|h| late_timer(h).map(|t| (h, t)));
    // A stage's `on enter` sends are reported once, for the first timer that leads there.
    let mut entered = vec![false; g.stages.len()];
    let mut out = Vec::new();
    for (h, timer) in timers {
        for send in closed_sends(&g, &h.body, &mut entered) {
            let word = send.word;
            match send.via {
                None => out.push(report_send(
                    send.at,
                    word,
                    format!("this `{word}` runs when the customer's window is closed"),
                    &timer,
                )),
                Some((goto_span, target)) => out.push(
                    report_send(
                        send.at,
                        word,
                        format!(
                            "this `{word}` runs on entering `{target}` while the window is closed"
                        ),
                        &timer,
                    )
                    .with_secondary(
                        goto_span,
                        format!("`goto {target}` runs after the window closed"),
                    ),
                ),
            }
        }
    }
    for d in out {
        cx.report(d);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::syntax::ast::{DurationLit, Item, TriggerKind as T};

    fn silence(seconds: u64) -> T {
        T::Silence(DurationLit {
            seconds,
            span: sp(),
        })
    }

    fn labels(items: Vec<Item>) -> Vec<String> {
        check_with(items, super::run)
            .into_iter()
            .map(|d| d.primary.message)
            .collect()
    }

    #[test]
    fn durations_read_like_the_source() {
        assert_eq!(duration(86_400), "1d");
        assert_eq!(duration(90_000), "25h");
        assert_eq!(duration(86_400 * 9), "1w2d");
        assert_eq!(duration(5_400), "1h30m");
        assert_eq!(duration(604_800 * 2), "2w");
    }

    #[test]
    fn short_timers_and_templates_are_fine() {
        let items = vec![
            flow(),
            stage(
                "a",
                vec![
                    on(silence(WINDOW_SECS - 60), vec![reply(text("still there?"))]),
                    on(silence(WINDOW_SECS), vec![template("back_soon"), close()]),
                ],
            ),
        ];
        assert!(labels(items).is_empty());
    }

    #[test]
    fn late_sends_are_reported_until_an_ask() {
        let items = vec![
            flow(),
            stage(
                "a",
                vec![on(
                    silence(WINDOW_SECS),
                    vec![
                        if_(
                            path("x"),
                            vec![reply(text("a"))],
                            Some(vec![ask("f", None)]),
                        ),
                        // One branch asked: the window may be open again.
                        reply(text("b")),
                    ],
                )],
            ),
            stage(
                "b",
                vec![on(
                    T::InStage(DurationLit {
                        seconds: 2 * WINDOW_SECS,
                        span: sp(),
                    }),
                    vec![
                        ask("f", Some(vec![reply(text("late"))])),
                        reply(text("after")),
                    ],
                )],
            ),
        ];
        assert_eq!(
            labels(items),
            vec![
                "this `reply` runs when the customer's window is closed",
                "this `ask` runs when the customer's window is closed",
                "this `ask` runs when the customer's window is closed",
            ]
        );
    }

    #[test]
    fn gotos_carry_the_closed_window_through_on_enter_chains() {
        let items = vec![
            flow(),
            stage("a", vec![on(silence(WINDOW_SECS), vec![goto("b")])]),
            stage("b", vec![on(T::Enter, vec![reply(text("hi")), goto("c")])]),
            stage("c", vec![on(T::Enter, vec![template("t"), goto("b")])]),
        ];
        let d = check_with(items, super::run);
        assert_eq!(codes(&d), vec!["E0408"]);
        assert_eq!(d[0].secondary.len(), 2);
    }
}
