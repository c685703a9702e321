//! Checker pass: totality — every stage answers every kind of inbound message.
//!
//! The kinds a customer can send are: a text, a reply-button tap, a list choice, an
//! image, a video, an audio message, a document, a sticker, a location, a contact card
//! and a form submission. A kind is covered in a stage by a handler without a `when`
//! guard, of the stage itself or of an `anywhere` block:
//! - `otherwise` and `on message` cover every kind;
//! - `on media` covers image, video, audio, document and sticker;
//! - `on image`, `on video`, ... `on location`, `on contacts` cover their own kind;
//! - `on keyword`, `on regex`, `on button "X"`, `on choice "X"`, `on form F submitted`
//!   and `when ...` cover no kind entirely (other words, buttons, rows or forms get through).
//!
//! E0405 names each stage that leaves a kind unanswered.

use super::Cx;
use super::graph::Graph;
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{Handler, MediaKind, TriggerKind};

/// The kinds of inbound message, in the order they are listed to the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Button,
    Choice,
    Image,
    Video,
    Audio,
    Document,
    Sticker,
    Location,
    Contacts,
    Form,
}

pub(crate) const ALL: [Kind; 11] = [
    Kind::Text,
    Kind::Button,
    Kind::Choice,
    Kind::Image,
    Kind::Video,
    Kind::Audio,
    Kind::Document,
    Kind::Sticker,
    Kind::Location,
    Kind::Contacts,
    Kind::Form,
];

/// The five kinds `on media` stands for.
const MEDIA: [Kind; 5] = [
    Kind::Image,
    Kind::Video,
    Kind::Audio,
    Kind::Document,
    Kind::Sticker,
];

pub(crate) fn media_kinds(m: MediaKind) -> &'static [Kind] {
    match m {
        MediaKind::Image => &[Kind::Image],
        MediaKind::Video => &[Kind::Video],
        MediaKind::Audio => &[Kind::Audio],
        MediaKind::Document => &[Kind::Document],
        MediaKind::Sticker => &[Kind::Sticker],
        MediaKind::Location => &[Kind::Location],
        MediaKind::Contacts => &[Kind::Contacts],
        MediaKind::AnyMedia => &MEDIA,
    }
}

/// The kinds a handler answers whatever the message says.
pub(crate) fn covered(h: &Handler) -> &'static [Kind] {
    if h.guard.is_some() {
        return &[];
    }
    match &h.trigger.kind {
        TriggerKind::Message | TriggerKind::Otherwise => &ALL,
        TriggerKind::Media(m) => media_kinds(*m),
        _ => &[],
    }
}

fn bit(k: Kind) -> u16 {
    1 << (k as u16)
}

fn describe(missing: u16, has_text_triggers: bool) -> Vec<&'static str> {
    let media: u16 = MEDIA.iter().map(|&k| bit(k)).sum();
    let mut out = Vec::new();
    for k in ALL {
        if missing & bit(k) == 0 {
            continue;
        }
        if missing & media == media && MEDIA.contains(&k) {
            if k == Kind::Image {
                out.push("any media file");
            }
            continue;
        }
        out.push(match k {
            Kind::Text if has_text_triggers => "a text that matches no keyword",
            Kind::Text => "a text",
            Kind::Button => "a button tap",
            Kind::Choice => "a list choice",
            Kind::Image => "an image",
            Kind::Video => "a video",
            Kind::Audio => "an audio message",
            Kind::Document => "a document",
            Kind::Sticker => "a sticker",
            Kind::Location => "a location",
            Kind::Contacts => "a contact card",
            Kind::Form => "a form submission",
        });
    }
    out
}

pub(crate) fn run(cx: &mut Cx) {
    let g = Graph::build(cx.file, cx.syms);
    let everything: u16 = ALL.iter().map(|&k| bit(k)).sum();
    let from_anywhere: u16 = g
        .anywhere
        .iter()
        .flat_map(|h| covered(h))
        .map(|&k| bit(k))
        .fold(0, |a, b| a | b);
    for stage in &g.stages {
        let have = stage
            .handlers
            .iter()
            .flat_map(covered)
            .map(|&k| bit(k))
            .fold(from_anywhere, |a, b| a | b);
        let missing = everything & !have;
        if missing == 0 {
            continue;
        }
        let has_text_triggers = g.anywhere.iter().copied().chain(&stage.handlers).any(|h| {
            matches!(
                h.trigger.kind,
                TriggerKind::Keyword(_) | TriggerKind::Regex(_) | TriggerKind::Intent(_)
            )
        });
        let name = &stage.name.name;
        cx.report(
            Diagnostic::new(
                codes::NOT_TOTAL,
                format!("stage `{name}` does not answer every message"),
                stage.name.span,
                format!(
                    "nothing here answers {}",
                    join_or(&describe(missing, has_text_triggers))
                ),
            )
            .with_note(
                "a stage must answer every kind of message a customer can send; only \
                 handlers without `when` count, and `on keyword`, `on regex`, `on button`, \
                 `on choice` and `on form` answer only some messages of their kind",
            )
            .with_help("add `otherwise { reply \"...\" }`, or `otherwise { ignore }` to stay silent on purpose"),
        );
    }
}

/// "a, b or c"
fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::syntax::ast::TriggerKind as T;

    fn labels(items: Vec<crate::syntax::ast::Item>) -> Vec<String> {
        check_with(items, super::run)
            .into_iter()
            .map(|d| d.primary.message)
            .collect()
    }

    #[test]
    fn otherwise_and_message_cover_everything() {
        for t in [T::Otherwise, T::Message] {
            let items = vec![flow(), stage("a", vec![on(t, vec![close()])])];
            assert!(labels(items).is_empty());
        }
    }

    #[test]
    fn guarded_and_partial_triggers_cover_nothing() {
        let items = vec![
            flow(),
            stage(
                "a",
                vec![
                    on(keywords(&["hi"]), vec![close()]),
                    handler(T::Otherwise, Some(path("x")), vec![close()]),
                    on(T::Media(MediaKind::AnyMedia), vec![close()]),
                    on(T::Media(MediaKind::Location), vec![close()]),
                ],
            ),
        ];
        assert_eq!(
            labels(items),
            vec![
                "nothing here answers a text that matches no keyword, a button tap, a list \
                 choice, a contact card or a form submission"
            ]
        );
    }

    #[test]
    fn anywhere_handlers_count_for_every_stage() {
        let items = vec![
            flow(),
            stage("a", vec![on(T::Media(MediaKind::Image), vec![close()])]),
            anywhere(vec![on(T::Message, vec![close()])]),
        ];
        assert!(labels(items).is_empty());
        let items = vec![
            flow(),
            stage("a", vec![on(T::Media(MediaKind::Image), vec![close()])]),
            anywhere(vec![on(T::Media(MediaKind::Video), vec![close()])]),
        ];
        assert_eq!(
            labels(items),
            vec![
                "nothing here answers a text, a button tap, a list choice, an audio message, \
                 a document, a sticker, a location, a contact card or a form submission"
            ]
        );
    }
}
