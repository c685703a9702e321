//! Intents, knowledge bases and AI endpoints as the engine uses them: the classifier
//! built from the `intent` examples with the script's threshold and margin, each
//! knowledge file split into sections with a classifier over their headings and
//! phrasings, and the declared AI endpoints.

use crate::check::knowledge::{self, Loaded, Resources};
use crate::classify::{Labelled, Model, Ranking};
use crate::syntax::ast::{self, Item};
use std::collections::BTreeMap;

/// The confidence an intent needs when the script does not say.
pub const DEFAULT_THRESHOLD: f32 = 0.15;
/// How far the first intent must lead the second when the script does not say.
pub const DEFAULT_MARGIN: f32 = 0.02;
/// The confidence a knowledge section needs when `answer` does not say.
pub const DEFAULT_ANSWER_THRESHOLD: f32 = 0.20;
/// How long an AI call waits when the endpoint does not say.
pub const DEFAULT_AI_TIMEOUT: i64 = 10;

/// The intents of a script.
#[derive(Clone, Debug, Default)]
pub struct Intents {
    pub model: Model,
    pub threshold: f32,
    pub margin: f32,
    /// Intents with their own `threshold`.
    pub thresholds: BTreeMap<String, f32>,
}

/// The classifier's verdict on one message.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The intent, when the best one clears its threshold and leads by the margin.
    pub intent: Option<String>,
    /// The best intent's confidence (whether or not it was decided).
    pub confidence: f32,
    pub ranking: Ranking,
}

impl Verdict {
    /// Why the best intent was not taken, for explanations.
    pub fn refusal(&self, intents: &Intents) -> Option<String> {
        if self.intent.is_some() {
            return None;
        }
        let best = self.ranking.best()?;
        let need = intents.threshold_of(&best.label);
        Some(if best.score < need {
            format!(
                "`{}` scored {:.2}, below its threshold {:.2}",
                best.label, best.score, need
            )
        } else {
            format!(
                "`{}` led the next intent by {:.2}, less than the margin {:.2}",
                best.label,
                self.ranking.margin(),
                intents.margin
            )
        })
    }
}

impl Intents {
    pub fn is_empty(&self) -> bool {
        self.model.is_empty()
    }

    pub fn threshold_of(&self, intent: &str) -> f32 {
        self.thresholds
            .get(intent)
            .copied()
            .unwrap_or(self.threshold)
    }

    /// Classifies a message: the best intent, if it is sure enough.
    pub fn classify(&self, message: &str) -> Verdict {
        let ranking = self.model.rank(message);
        self.decide(ranking)
    }

    /// Classifies a message and says which of its words decided (slower; for `:why`).
    pub fn explain(&self, message: &str) -> Verdict {
        self.decide(self.model.explain(message))
    }

    /// Applies the threshold and the margin to a ranking.
    pub fn decide(&self, ranking: Ranking) -> Verdict {
        let (intent, confidence) = match ranking.best() {
            Some(b) => {
                let ok = b.score > 0.0
                    && b.score >= self.threshold_of(&b.label)
                    && ranking.margin() >= self.margin;
                (ok.then(|| b.label.clone()), b.score)
            }
            None => (None, 0.0),
        };
        Verdict {
            intent,
            confidence,
            ranking,
        }
    }
}

/// A knowledge base: its sections and a classifier over them (labels are the headings).
#[derive(Clone, Debug, Default)]
pub struct Knowledge {
    pub name: String,
    pub path: String,
    pub sections: Vec<knowledge::Section>,
    pub model: Model,
}

impl Knowledge {
    pub fn section(&self, heading: &str) -> Option<&knowledge::Section> {
        self.sections.iter().find(|s| s.heading == heading)
    }
}

/// A declared OpenAI-compatible chat completions endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct AiEndpoint {
    pub name: String,
    pub url: String,
    pub model: String,
    /// The environment variable holding the API key (read by the daemon, never here).
    pub key_env: Option<String>,
    pub timeout_secs: i64,
    /// Attempts after the first one.
    pub retries: u32,
}

/// Builds the intents of a file: first declaration of each name wins.
pub fn intents(file: &ast::File) -> Intents {
    intents_with(file, crate::classify::Params::default())
}

/// The intents of a file with other classifier parameters (for evaluations).
pub fn intents_with(file: &ast::File, params: crate::classify::Params) -> Intents {
    let mut threshold = DEFAULT_THRESHOLD;
    let mut margin = DEFAULT_MARGIN;
    if let Some(Item::Flow(f)) = file.items.iter().find(|i| matches!(i, Item::Flow(_))) {
        for s in &f.settings {
            if let ast::FlowSettingKind::Intents {
                threshold: t,
                margin: m,
            } = &s.kind
            {
                if let Some(t) = t.as_ref().and_then(ratio) {
                    threshold = t;
                }
                if let Some(m) = m.as_ref().and_then(ratio) {
                    margin = m;
                }
            }
        }
    }
    let mut labelled: Vec<Labelled> = Vec::new();
    let mut thresholds = BTreeMap::new();
    for item in &file.items {
        if let Item::Intent(i) = item {
            if labelled.iter().any(|l| l.label == i.name.name) {
                continue;
            }
            labelled.push(Labelled {
                label: i.name.name.clone(),
                examples: i.examples.iter().map(|e| e.value.clone()).collect(),
            });
            if let Some(t) = i.threshold.as_ref().and_then(ratio) {
                thresholds.insert(i.name.name.clone(), t);
            }
        }
    }
    Intents {
        model: Model::build_with(&labelled, params),
        threshold,
        margin,
        thresholds,
    }
}

/// Builds each knowledge base from the loaded files; a file the front did not load, or
/// could not, gives an empty base (the checker reports the latter).
pub fn knowledge(file: &ast::File, res: &Resources) -> BTreeMap<String, Knowledge> {
    let mut out = BTreeMap::new();
    for item in &file.items {
        let Item::Knowledge(k) = item else { continue };
        if out.contains_key(&k.name.name) {
            continue;
        }
        let sections = match res.get(&k.path.value) {
            Some(Loaded::Text(t)) => knowledge::sections(t),
            _ => Vec::new(),
        };
        out.insert(
            k.name.name.clone(),
            build_knowledge(&k.name.name, &k.path.value, sections),
        );
    }
    out
}

/// A knowledge base from its sections: each section is a label whose examples are its
/// heading, its other phrasings and its body. A repeated heading keeps its first section.
pub fn build_knowledge(name: &str, path: &str, sections: Vec<knowledge::Section>) -> Knowledge {
    let mut kept: Vec<knowledge::Section> = Vec::new();
    for s in sections {
        if !kept.iter().any(|k| k.heading == s.heading) {
            kept.push(s);
        }
    }
    let labelled: Vec<Labelled> = kept
        .iter()
        .map(|s| Labelled {
            label: s.heading.clone(),
            examples: std::iter::once(s.heading.clone())
                .chain(s.also.iter().cloned())
                .chain(std::iter::once(s.body.clone()))
                .collect(),
        })
        .collect();
    Knowledge {
        name: name.to_string(),
        path: path.to_string(),
        model: Model::build(&labelled),
        sections: kept,
    }
}

/// The AI endpoints of a file.
pub fn ais(file: &ast::File) -> BTreeMap<String, AiEndpoint> {
    let mut out = BTreeMap::new();
    for item in &file.items {
        let Item::Ai(a) = item else { continue };
        out.entry(a.name.name.clone())
            .or_insert_with(|| AiEndpoint {
                name: a.name.name.clone(),
                url: a.url.value.clone(),
                model: a
                    .model
                    .as_ref()
                    .map(|m| m.value.clone())
                    .unwrap_or_default(),
                key_env: a.key.as_ref().map(|k| k.var.value.clone()),
                timeout_secs: a
                    .timeout
                    .map(|t| super::secs(t.seconds).max(1))
                    .unwrap_or(DEFAULT_AI_TIMEOUT),
                retries: a
                    .retry
                    .map(|r| r.value.clamp(0.0, 10.0) as u32)
                    .unwrap_or(0),
            });
    }
    out
}

fn ratio(n: &ast::NumLit) -> Option<f32> {
    (0.0..=1.0).contains(&n.value).then_some(n.value as f32)
}
