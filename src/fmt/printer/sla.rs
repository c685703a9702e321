//! The canonical layout of service levels and of the test steps about people and card
//! events.

use super::Printer;
use crate::syntax::ast::{AgentStep, Expectation, SlaDecl, SlaTarget};

impl Printer<'_> {
    /// `sla NAME [for A, B] { target; ... }`, one target per line.
    pub(super) fn sla(&mut self, s: &SlaDecl) {
        let (start, end) = (s.span.start as usize, s.span.end as usize);
        let mut header = format!("sla {}", s.name.name);
        if !s.teams.is_empty() {
            let teams: Vec<&str> = s.teams.iter().map(|t| t.name.as_str()).collect();
            header.push_str(&format!(" for {}", teams.join(", ")));
        }
        if s.targets.is_empty() && !self.has_comment(s.span) {
            self.emit(0, start, end, format!("{header} {{}}"));
            return;
        }
        let after = s.teams.last().map_or(s.name.span.end, |t| t.span.end) as usize;
        let first = s.targets.first().map_or(end, |t| t.span.start as usize);
        let brace = self.find_brace(after, first);
        self.open(0, start, brace, format!("{header} {{"));
        for t in &s.targets {
            self.sla_target(1, t);
        }
        self.close(0, end);
    }

    fn sla_target(&mut self, indent: usize, t: &SlaTarget) {
        let (start, end) = (t.span.start as usize, t.span.end as usize);
        let mut head = format!("{} within {}", t.measure.as_str(), self.dur(&t.within));
        if let Some(h) = &t.inside {
            head.push_str(&format!(" inside {}", h.name));
        }
        let Some(b) = &t.breach else {
            self.emit(indent, start, end, head);
            return;
        };
        if let Some(flat) = self.flat_fallback(b) {
            self.emit(indent, start, end, format!("{head} else {flat}"));
            return;
        }
        self.open(
            indent,
            start,
            b.span.start as usize,
            format!("{head} else {{"),
        );
        self.actions(indent + 1, b);
        self.close(indent, b.span.end as usize);
    }

    pub(super) fn agent_step(&self, a: &AgentStep) -> String {
        match a {
            AgentStep::Reply(t) => format!("agent reply {}", self.text(t)),
            AgentStep::Resolve(Some(t)) => format!("agent resolve {}", self.text(t)),
            AgentStep::Resolve(None) => "agent resolve".into(),
            AgentStep::Release => "agent release".into(),
            AgentStep::Assign(t) => format!("agent assign {}", self.text(t)),
            AgentStep::Route(team) => format!("agent route {}", team.name),
        }
    }

    /// `sla ...` and `event ...` expectations; `None` for the others.
    pub(super) fn measure_expectation(&self, e: &Expectation) -> Option<String> {
        Some(match e {
            Expectation::Sla {
                sla,
                measure,
                outcome,
            } => match measure {
                Some(m) => format!("sla {} {} {}", sla.name, m.as_str(), outcome.as_str()),
                None => format!("sla {} {}", sla.name, outcome.as_str()),
            },
            Expectation::Event { kind, detail } => match detail {
                Some(d) => format!("event {} {}", kind.name, self.text(d)),
                None => format!("event {}", kind.name),
            },
            _ => return None,
        })
    }
}
