//! Comparing what the live bot did in one turn with what the candidate does, and naming
//! the difference: the classes of divergence, from the gravest down.
//!
//! - **candidate error**: the candidate reports an error the live bot did not (a step
//!   budget spent, a refused event, a card waiting in code that is gone);
//! - **other stage or route**: other stage moves or card actions (opened, routed, handed
//!   off, released, closed, opted out), or other handlers doing the talking;
//! - **other outbound payload**: the same route, but other messages (another template,
//!   other parameters, buttons or rows), other webhook bodies, other fields or tags;
//! - **same route, other wording**: only the texts of messages differ.
//!
//! Ids the engine numbers (message and call ids) are not compared; handler keys are
//! compared only once the effects differ, so renaming a trigger that takes the same path
//! is not a divergence.

use super::record::{Output, OutputKind};
use crate::engine::OutMessage;
use serde::Serialize;

/// How a turn of the candidate differs from the recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Identical,
    OtherWording,
    OtherPayload,
    OtherRoute,
    CandidateError,
}

impl Class {
    /// Every divergence class, from the mildest to the gravest.
    pub const DIVERGENT: [Class; 4] = [
        Class::OtherWording,
        Class::OtherPayload,
        Class::OtherRoute,
        Class::CandidateError,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Class::Identical => "identical",
            Class::OtherWording => "same route, other wording",
            Class::OtherPayload => "other outbound payload",
            Class::OtherRoute => "other stage or route",
            Class::CandidateError => "candidate error",
        }
    }
}

/// The class of the difference between two turns' effects.
pub fn classify(recorded: &[Output], candidate: &[Output]) -> Class {
    let r: Vec<&Output> = recorded.iter().filter(|o| o.is_observable()).collect();
    let c: Vec<&Output> = candidate.iter().filter(|o| o.is_observable()).collect();
    let plain = |os: &[&Output]| os.iter().map(|o| without_ids(&o.kind)).collect::<Vec<_>>();
    if plain(&r) == plain(&c) {
        return Class::Identical;
    }
    let errors = |os: &[&Output]| {
        os.iter()
            .filter_map(|o| match &o.kind {
                OutputKind::Error { message } => Some(message.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    if errors(&c).iter().any(|e| !errors(&r).contains(e)) {
        return Class::CandidateError;
    }
    if route(&r) != route(&c) {
        return Class::OtherRoute;
    }
    let words = |os: &[&Output]| os.iter().map(|o| blank_texts(&o.kind)).collect::<Vec<_>>();
    if words(&r) == words(&c) {
        Class::OtherWording
    } else {
        Class::OtherPayload
    }
}

/// An effect without the ids the engine numbers.
fn without_ids(k: &OutputKind) -> OutputKind {
    match k {
        OutputKind::Send { message, .. } => OutputKind::Send {
            id: String::new(),
            message: message.clone(),
        },
        OutputKind::Call { webhook, body, .. } => OutputKind::Call {
            call_id: String::new(),
            webhook: webhook.clone(),
            body: body.clone(),
        },
        other => other.clone(),
    }
}

/// One step of a route: where the card goes and who acts.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Handler(Option<String>, String),
    Card(String),
}

/// The route of a turn: the handlers that acted (in the stage they acted in) and the
/// card's moves, in order, each handler once per run.
fn route(os: &[&Output]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for o in os {
        let card = match &o.kind {
            OutputKind::OpenCard => Some("opened".to_string()),
            OutputKind::StageChanged { to, .. } => Some(format!("stage {to}")),
            OutputKind::Route { team, .. } => Some(format!("routed {team}")),
            OutputKind::Handoff { team } => Some(format!("handoff {team:?}")),
            OutputKind::Release => Some("released".into()),
            OutputKind::Close { .. } => Some("closed".into()),
            OutputKind::OptOut => Some("opted out".into()),
            OutputKind::OptIn => Some("opted in".into()),
            _ => None,
        };
        let step = match card {
            Some(c) => Step::Card(c),
            None => Step::Handler(o.handler.as_ref().map(|h| h.to_string()), o.stage.clone()),
        };
        if out.last() != Some(&step) {
            out.push(step);
        }
    }
    out
}

/// An effect with the texts of its message blanked: what is left when only the wording
/// may differ.
fn blank_texts(k: &OutputKind) -> OutputKind {
    let blank = |m: &OutMessage| match m {
        OutMessage::Text { .. } => OutMessage::Text {
            body: String::new(),
        },
        OutMessage::Buttons { buttons, .. } => OutMessage::Buttons {
            body: String::new(),
            buttons: buttons.clone(),
        },
        OutMessage::List { button, rows, .. } => OutMessage::List {
            body: String::new(),
            button: button.clone(),
            rows: rows.clone(),
        },
        OutMessage::Form { form, title, .. } => OutMessage::Form {
            form: form.clone(),
            title: title.clone(),
            body: String::new(),
        },
        t @ OutMessage::Template { .. } => t.clone(),
    };
    match without_ids(k) {
        OutputKind::Send { id, message } => OutputKind::Send {
            id,
            message: blank(&message),
        },
        OutputKind::NotSent { reason, message } => OutputKind::NotSent {
            reason,
            message: blank(&message),
        },
        other => other,
    }
}

/// Whether two lists of outputs differ at this position, for marking side-by-side lines.
pub fn differs_at(recorded: &[Output], candidate: &[Output], i: usize) -> bool {
    let r = recorded.get(i).map(|o| without_ids(&o.kind));
    let c = candidate.get(i).map(|o| without_ids(&o.kind));
    r != c
}
