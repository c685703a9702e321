//! Service levels compiled: each target with its allowance, its clock and the code of
//! its `else`, which runs as a handler of its own when the target is breached.

use super::lower::Lowerer;
use super::{Handler, HandlerKey, Program, secs};
use crate::syntax::ast::{self, Item};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A service level: targets on the cards of some teams (of every card without teams).
#[derive(Clone, Debug)]
pub struct Sla {
    pub name: String,
    /// The teams whose cards it covers; empty for every card.
    pub teams: Vec<String>,
    pub targets: Vec<SlaTargetSpec>,
}

impl Sla {
    /// Whether a card of this team is covered.
    pub fn covers(&self, team: Option<&str>) -> bool {
        self.teams.is_empty() || team.is_some_and(|t| self.teams.iter().any(|x| x == t))
    }
}

/// One target of a service level.
#[derive(Clone, Debug)]
pub struct SlaTargetSpec {
    pub measure: SlaTarget,
    /// How long the target allows, in seconds of its clock.
    pub within: i64,
    /// `inside HOURS`: the hours whose open time the clock counts (index into
    /// [`Program::hours`]); `None` for the hours of the card's team when the service
    /// level starts, or the wall clock when the team has none.
    pub inside: Option<usize>,
    /// The `else`, run when the target is breached.
    pub breach: Option<Handler>,
}

/// What a target measures; persisted (timers, card state, card events) by this name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaTarget {
    FirstReply,
    Resolution,
}

impl SlaTarget {
    /// As scripts write it.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaTarget::FirstReply => "first reply",
            SlaTarget::Resolution => "resolution",
        }
    }
}

impl From<ast::SlaMeasure> for SlaTarget {
    fn from(m: ast::SlaMeasure) -> SlaTarget {
        match m {
            ast::SlaMeasure::FirstReply => SlaTarget::FirstReply,
            ast::SlaMeasure::Resolution => SlaTarget::Resolution,
        }
    }
}

/// Every `sla` of the file, first one of each name winning; `else` blocks are lowered
/// into the program's code.
pub(super) fn lower(
    file: &ast::File,
    lw: &mut Lowerer<'_>,
    hours_ids: &BTreeMap<String, usize>,
) -> Vec<Sla> {
    let mut out: Vec<Sla> = Vec::new();
    for item in &file.items {
        let Item::Sla(s) = item else { continue };
        if out.iter().any(|o| o.name == s.name.name) {
            continue;
        }
        let targets = s
            .targets
            .iter()
            .map(|t| {
                let measure = SlaTarget::from(t.measure);
                SlaTargetSpec {
                    measure,
                    within: secs(t.within.seconds).max(1),
                    inside: t
                        .inside
                        .as_ref()
                        .and_then(|h| hours_ids.get(&h.name).copied()),
                    breach: t.breach.as_ref().map(|b| lw.breach(measure, b)),
                }
            })
            .collect();
        out.push(Sla {
            name: s.name.name.clone(),
            teams: s.teams.iter().map(|t| t.name.clone()).collect(),
            targets,
        });
    }
    out
}

/// Names the `else` handlers: the service level and the target, which are unique.
pub(super) fn name_breaches(p: &mut Program) {
    let mut slas = std::mem::take(&mut p.slas);
    for sla in &mut slas {
        for t in &mut sla.targets {
            if let Some(h) = t.breach.as_mut() {
                h.key = HandlerKey {
                    stage: None,
                    trigger: format!("{} breached", t.measure.as_str()),
                    sla: Some(sla.name.clone()),
                };
                h.fingerprint = super::identity::fingerprint(p, h);
            }
        }
    }
    p.slas = slas;
}
