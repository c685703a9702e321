//! Checker pass over service levels: what may run when a target is breached (E0205), one
//! target of each kind per service level (E0202), targets whose clock never runs (E0801),
//! first-reply targets nobody can meet (E0802), and service levels no rule ever applies
//! (W0801). Names (`for` teams, `inside` hours) are resolved by the names pass.

use super::Cx;
use super::walk;
use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{
    ActionKind, File, HoursDecl, Item, MessageKind, SlaDecl, SlaMeasure, TeamDecl,
};
use crate::syntax::span::Span;
use std::collections::BTreeSet;

pub(crate) fn run(cx: &mut Cx) {
    let routed = routed_teams(cx.file);
    let mut diags = Vec::new();
    for item in &cx.file.items {
        if let Item::Sla(sla) = item {
            breach_actions(sla, &mut diags);
            duplicate_targets(sla, &mut diags);
            clocks(cx, sla, &mut diags);
            nobody_replies(cx, sla, &mut diags);
            // Unknown teams are the names pass's business.
            if sla
                .teams
                .iter()
                .all(|t| cx.syms.teams.contains_key(&t.name))
            {
                never_applies(sla, &routed, &mut diags);
            }
        }
    }
    cx.diags.append(&mut diags);
}

/// Every team a rule of the script routes or hands a card to.
fn routed_teams(file: &File) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, h) in walk::handlers(file) {
        walk::each_action(&h.body, &mut |a| match &a.kind {
            ActionKind::Route { team, .. } | ActionKind::Handoff(Some(team)) => {
                out.insert(team.name.clone());
            }
            _ => {}
        });
    }
    for b in walk::sla_blocks(file) {
        walk::each_action(b, &mut |a| match &a.kind {
            ActionKind::Route { team, .. } | ActionKind::Handoff(Some(team)) => {
                out.insert(team.name.clone());
            }
            _ => {}
        });
    }
    out
}

/// E0205: a breach may change the card and tell other systems, not talk to the customer,
/// wait, or move the card between stages.
fn breach_actions(sla: &SlaDecl, diags: &mut Vec<Diagnostic>) {
    for target in &sla.targets {
        let Some(block) = &target.breach else {
            continue;
        };
        walk::each_action(block, &mut |a| {
            let word = match &a.kind {
                ActionKind::Reply(m) => match m.kind {
                    MessageKind::Template { .. } => "send template",
                    MessageKind::Form { .. } => "reply form",
                    _ => "reply",
                },
                ActionKind::Ask { .. } => "ask",
                ActionKind::Call { .. } => "call",
                ActionKind::Goto(_) => "goto",
                ActionKind::Close(_) => "close",
                _ => return,
            };
            diags.push(
                Diagnostic::new(
                    codes::MISPLACED,
                    format!("`{word}` cannot run when a service level is breached"),
                    a.span,
                    "not allowed in the `else` of a service level",
                )
                .with_secondary(target.measure_span, "this target's `else`")
                .with_note(
                    "a breach can come at any moment, also while a person owns the conversation: its `else` may change the card (`priority`, `route`, `assign`, `handoff`, `tag`, `set`) and tell other systems (`post`), but not talk to the customer, wait for an answer, or move or close the card",
                )
                .with_help("tell the team instead, e.g. `post slack { text: \"...\" }`, or raise the card's `priority`"),
            );
        });
    }
}

/// E0202: each service level has at most one target of each kind.
fn duplicate_targets(sla: &SlaDecl, diags: &mut Vec<Diagnostic>) {
    for (i, t) in sla.targets.iter().enumerate() {
        if let Some(first) = sla.targets.iter().take(i).find(|o| o.measure == t.measure) {
            diags.push(
                Diagnostic::new(
                    codes::DUPLICATE,
                    format!(
                        "sla `{}` sets its {} target twice",
                        sla.name.name,
                        t.measure.as_str()
                    ),
                    t.measure_span,
                    "set again here",
                )
                .with_secondary(first.measure_span, "first set here")
                .with_note("a service level has at most one first-reply and one resolution target")
                .with_help("keep one of them, or declare a second `sla` for the other"),
            );
        }
    }
}

fn hours_decl<'a>(cx: &Cx<'a>, name: &str) -> Option<&'a HoursDecl> {
    let (i, _) = cx.syms.hours.get(name)?;
    match cx.file.items.get(*i) {
        Some(Item::Hours(h)) => Some(h),
        _ => None,
    }
}

fn team_decl<'a>(cx: &Cx<'a>, name: &str) -> Option<&'a TeamDecl> {
    let (i, _) = cx.syms.teams.get(name)?;
    match cx.file.items.get(*i) {
        Some(Item::Team(t)) => Some(t),
        _ => None,
    }
}

/// E0801: a target counted in hours that never open can never be breached.
fn clocks(cx: &Cx, sla: &SlaDecl, diags: &mut Vec<Diagnostic>) {
    for target in &sla.targets {
        // The hours the clock counts: `inside`, else each team's own.
        let mut clocks: Vec<(Span, &str, &HoursDecl)> = Vec::new();
        match &target.inside {
            Some(h) => {
                if let Some(decl) = hours_decl(cx, &h.name) {
                    clocks.push((h.span, "its clock counts", decl));
                }
            }
            None => {
                for team in &sla.teams {
                    let Some(h) = team_decl(cx, &team.name).and_then(|t| t.hours.as_ref()) else {
                        continue;
                    };
                    if let Some(decl) = hours_decl(cx, &h.name) {
                        clocks.push((team.span, "the team's hours count", decl));
                    }
                }
            }
        }
        for (at, how, decl) in clocks {
            if !decl.rules.is_empty() {
                continue;
            }
            diags.push(
                Diagnostic::new(
                    codes::SLA_CLOCK_NEVER_RUNS,
                    format!(
                        "the {} target of sla `{}` counts time that never passes",
                        target.measure.as_str(),
                        sla.name.name
                    ),
                    at,
                    format!("{how} only the open time of `{}`", decl.name.name),
                )
                .with_secondary(decl.name.span, "these hours have no opening time")
                .with_note("a target counted in hours that never open can never come due: it is never breached, and so it measures nothing")
                .with_help(format!(
                    "give `{}` its opening times (e.g. `mon-fri 09:00-18:00`), or count the target in other hours with `inside`",
                    decl.name.name
                )),
            );
        }
    }
}

/// E0802: a first-reply target on teams that have no agents to reply.
fn nobody_replies(cx: &Cx, sla: &SlaDecl, diags: &mut Vec<Diagnostic>) {
    if sla.teams.is_empty() {
        return;
    }
    let Some(target) = sla
        .targets
        .iter()
        .find(|t| t.measure == SlaMeasure::FirstReply)
    else {
        return;
    };
    let decls: Vec<&TeamDecl> = sla
        .teams
        .iter()
        .filter_map(|t| team_decl(cx, &t.name))
        .collect();
    // Unknown teams are the names pass's business.
    if decls.len() != sla.teams.len() || decls.iter().any(|t| !t.agents.is_empty()) {
        return;
    }
    let names = sla
        .teams
        .iter()
        .map(|t| format!("`{}`", t.name))
        .collect::<Vec<_>>()
        .join(", ");
    let mut d = Diagnostic::new(
        codes::SLA_NOBODY_REPLIES,
        format!(
            "nobody can give the first reply sla `{}` waits for",
            sla.name.name
        ),
        target.measure_span,
        "this target waits for a person's reply",
    )
    .with_note(format!(
        "a first reply comes from an agent of the card's team, and {names} {} no agents: the target can never be met",
        if decls.len() == 1 { "has" } else { "have" }
    ))
    .with_help("list the team's agents (`agents \"ana@acme.com\"`), or set only a `resolution` target");
    for t in decls {
        d = d.with_secondary(t.name.span, "no agents in this team");
    }
    diags.push(d);
}

/// W0801: no rule ever puts a card in one of the service level's teams.
fn never_applies(sla: &SlaDecl, routed: &BTreeSet<String>, diags: &mut Vec<Diagnostic>) {
    if sla.teams.is_empty() || sla.teams.iter().any(|t| routed.contains(&t.name)) {
        return;
    }
    let first = sla.teams.first().map_or(sla.name.span, |t| t.span);
    diags.push(
        Diagnostic::new(
            codes::SLA_NEVER_APPLIES,
            format!("sla `{}` covers no card the script routes", sla.name.name),
            first,
            "no `route` or `handoff` names these teams",
        )
        .with_secondary(sla.name.span, "this service level")
        .with_note("a service level starts when a card reaches one of its teams; only a person reassigning a card could start this one")
        .with_help("route cards to the team somewhere, or name the teams the script routes to"),
    );
}
