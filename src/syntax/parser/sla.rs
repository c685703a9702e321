//! Builds the service-level parts of the tree: `sla` declarations, and the test steps
//! and expectations about people and card events (`agent ...`, `expect sla`, `expect
//! event`).

use super::Rule;
use super::build::{Builder, R, kids};
use crate::syntax::ast::*;
use pest::iterators::Pair;

impl Builder<'_, '_> {
    /// `sla name [for team, ...] { targets }`
    pub(super) fn sla(&mut self, p: Pair<'_, Rule>) -> R<SlaDecl> {
        let span = self.span(&p);
        let mut name = None;
        let mut teams = Vec::new();
        let mut targets = Vec::new();
        for k in kids(p) {
            match k.as_rule() {
                Rule::sla_name => name = Some(self.ident(&k)),
                Rule::sla_for => {
                    for t in kids(k) {
                        if t.as_rule() == Rule::team_name {
                            teams.push(self.ident(&t));
                        }
                    }
                }
                Rule::sla_target => targets.push(self.sla_target(k)?),
                _ => {}
            }
        }
        let name = self.need(name, span)?;
        Ok(SlaDecl {
            name,
            teams,
            targets,
            span,
        })
    }

    fn sla_target(&mut self, p: Pair<'_, Rule>) -> R<SlaTarget> {
        let span = self.span(&p);
        let mut measure = None;
        let mut within = None;
        let mut inside = None;
        let mut breach = None;
        for k in kids(p) {
            match k.as_rule() {
                Rule::sla_measure => measure = Some(self.sla_measure(k)?),
                Rule::duration => within = Some(self.duration(&k)),
                Rule::sla_clock => {
                    let h = kids(k).find(|h| h.as_rule() == Rule::hours_name);
                    let h = self.need(h, span)?;
                    inside = Some(self.ident(&h));
                }
                Rule::else_clause => breach = Some(self.else_clause(k)?),
                _ => {}
            }
        }
        let (measure, measure_span) = self.need(measure, span)?;
        let within = self.need(within, span)?;
        Ok(SlaTarget {
            measure,
            measure_span,
            within,
            inside,
            breach,
            span,
        })
    }

    fn sla_measure(&mut self, p: Pair<'_, Rule>) -> R<(SlaMeasure, crate::syntax::span::Span)> {
        let span = self.span(&p);
        let inner = kids(p).next();
        let inner = self.need(inner, span)?;
        let m = match inner.as_rule() {
            Rule::sla_first_reply => SlaMeasure::FirstReply,
            Rule::kw_resolution => SlaMeasure::Resolution,
            _ => return Err(self.shape(span)),
        };
        Ok((m, span))
    }

    /// `agent reply "text"` and the other things a person does in a test.
    pub(super) fn agent_step(&mut self, p: Pair<'_, Rule>) -> R<AgentStep> {
        let span = self.span(&p);
        let what = kids(p).find(|k| k.as_rule() != Rule::kw_agent);
        let what = self.need(what, span)?;
        Ok(match what.as_rule() {
            Rule::ag_reply => AgentStep::Reply(self.first_text(what)?),
            Rule::ag_resolve => {
                let t = kids(what).find(|t| t.as_rule() == Rule::string);
                AgentStep::Resolve(t.map(|t| self.text(t)))
            }
            Rule::kw_release => AgentStep::Release,
            Rule::ag_assign => AgentStep::Assign(self.first_text(what)?),
            Rule::ag_route => AgentStep::Route(self.first_name(what)?),
            _ => return Err(self.shape(span)),
        })
    }

    /// `expect sla NAME [first reply | resolution] met|breached|pending`
    pub(super) fn expect_sla(&mut self, p: Pair<'_, Rule>) -> R<Expectation> {
        let span = self.span(&p);
        let mut sla = None;
        let mut measure = None;
        let mut outcome = None;
        for k in kids(p) {
            match k.as_rule() {
                Rule::sla_name => sla = Some(self.ident(&k)),
                Rule::sla_measure => measure = Some(self.sla_measure(k)?.0),
                Rule::sla_outcome => {
                    outcome = kids(k).next().and_then(|o| match o.as_rule() {
                        Rule::kw_met => Some(SlaOutcome::Met),
                        Rule::kw_breached => Some(SlaOutcome::Breached),
                        Rule::kw_pending => Some(SlaOutcome::Pending),
                        _ => None,
                    });
                }
                _ => {}
            }
        }
        let sla = self.need(sla, span)?;
        let outcome = self.need(outcome, span)?;
        Ok(Expectation::Sla {
            sla,
            measure,
            outcome,
        })
    }

    /// `expect event KIND ["detail"]`
    pub(super) fn expect_event(&mut self, p: Pair<'_, Rule>) -> R<Expectation> {
        let span = self.span(&p);
        let mut kind = None;
        let mut detail = None;
        for k in kids(p) {
            match k.as_rule() {
                Rule::event_kind => kind = Some(self.ident(&k)),
                Rule::string => detail = Some(self.text(k)),
                _ => {}
            }
        }
        let kind = self.need(kind, span)?;
        Ok(Expectation::Event { kind, detail })
    }
}
