//! Reports as text: a table for people, JSON for programs, CSV for spreadsheets (the
//! report as `version,section,key,metric,value` rows, and one row per card).

use super::cards::CardRow;
use super::report::{Percentiles, Report, VersionReport};
use crate::compile::value::show_duration;
use std::fmt::Write as _;

/// The report as JSON, pretty-printed.
pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.1}%", v * 100.0))
}

fn dur(x: Option<i64>) -> String {
    x.map_or("-".into(), show_duration)
}

fn percentiles(p: &Percentiles) -> String {
    if p.count == 0 {
        return "-".into();
    }
    format!(
        "p50 {:<8} p90 {:<8} (n={})",
        dur(p.p50),
        dur(p.p90),
        p.count
    )
}

/// The report as aligned text, one block per script version.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let period = match (r.since, r.until) {
        (Some(s), Some(u)) => format!("cards opened from {s} to {u}"),
        (Some(s), None) => format!("cards opened since {s}"),
        (None, Some(u)) => format!("cards opened before {u}"),
        (None, None) => "every card".into(),
    };
    let _ = writeln!(out, "{period}");
    if r.versions.is_empty() {
        out.push_str("no cards\n");
    }
    for v in &r.versions {
        version_table(&mut out, v);
    }
    out
}

fn version_table(out: &mut String, v: &VersionReport) {
    let c = &v.counts;
    let _ = writeln!(out, "\nscript {}", v.script);
    let _ = writeln!(
        out,
        "  cards {}: {} closed ({} resolved, {} abandoned), {} open",
        c.cards, c.closed, c.resolved, c.abandoned, c.open
    );
    let _ = writeln!(
        out,
        "  handed off {} ({}), resolved without a person {} ({} of resolved), reopened within 7 days {} ({} of closed), window templates {}",
        c.handed_off,
        pct(c.handoff_rate),
        c.resolved_without_human,
        pct(c.automation_rate),
        c.reopened_within_7d,
        pct(c.reopen_rate),
        c.template_fallbacks
    );
    let _ = writeln!(out, "\n  stage funnel");
    let _ = writeln!(
        out,
        "    {:<18} {:>8} {:>8} {:>8} {:>8} {:>8}  {:<40} moved on / closed",
        "stage", "entered", "cards", "closed", "abandon", "still", "time in stage"
    );
    for f in &v.funnel {
        let closed: u64 = f.closed.values().sum();
        let moved: Vec<String> = f.moved_on.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let reasons: Vec<String> = f.closed.iter().map(|(k, n)| format!("{k:?} {n}")).collect();
        let _ = writeln!(
            out,
            "    {:<18} {:>8} {:>8} {:>8} {:>8} {:>8}  {:<40} {}{}{}",
            f.stage,
            f.entered,
            f.cards,
            closed,
            f.abandoned,
            f.still_there,
            percentiles(&f.time_in_stage),
            moved.join(", "),
            if moved.is_empty() || reasons.is_empty() {
                ""
            } else {
                " / "
            },
            reasons.join(", ")
        );
    }
    if !v.asks.is_empty() {
        let _ = writeln!(out, "\n  questions (ask)");
        let _ = writeln!(
            out,
            "    {:<30} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "stage.field", "asked", "answered", "dropped", "refused", "gave up"
        );
        for a in &v.asks {
            let _ = writeln!(
                out,
                "    {:<30} {:>8} {:>8} {:>8} {:>8} {:>8}",
                format!("{}.{}", a.stage, a.field),
                a.cards,
                a.answered,
                a.dropped,
                a.refused_answers,
                a.gave_up
            );
        }
    }
    for f in &v.forms {
        let _ = writeln!(
            out,
            "\n  form {}: sent {}, submitted {}, refused {}, dropped before any screen {}",
            f.form, f.sent, f.submitted, f.refused, f.dropped_before_screens
        );
        for s in &f.screens {
            let _ = writeln!(
                out,
                "    screen {:<20} reached {:>8}  dropped {:>8}",
                s.screen, s.reached, s.dropped
            );
        }
    }
    let r = &v.routing;
    let _ = writeln!(
        out,
        "\n  routing: {} routed, {} re-routed ({} re-routings), accuracy {}",
        r.routed,
        r.rerouted,
        r.reroutes,
        pct(r.accuracy)
    );
    for (team, t) in &r.by_first_team {
        let _ = writeln!(
            out,
            "    first routed to {:<16} {:>8}  re-routed {:>8}",
            team, t.routed, t.rerouted
        );
    }
    let k = &v.clarifications;
    let _ = writeln!(
        out,
        "\n  clarifications: {} refused answers, {} otherwise, {} repeated questions, {} per card; {} unanswered",
        k.refused_answers,
        k.otherwise_hits,
        k.repeated_questions,
        k.per_card.map_or("-".into(), |x| format!("{x:.2}")),
        k.unanswered
    );
    let t = &v.times;
    let _ = writeln!(out, "\n  times");
    for (name, p) in [
        ("first response", &t.first_response),
        ("  in business hours", &t.first_response_business),
        ("resolution", &t.resolution),
        ("  in business hours", &t.resolution_business),
        ("after a form", &t.after_form),
    ] {
        let _ = writeln!(out, "    {name:<22} {}", percentiles(p));
    }
    if !v.slas.is_empty() {
        let _ = writeln!(out, "\n  service levels");
        for s in &v.slas {
            let _ = writeln!(
                out,
                "    {:<30} met {:>8}  breached {:>8}  attainment {}",
                format!("{} {}", s.sla, s.target.as_str()),
                s.met,
                s.breached,
                pct(s.attainment)
            );
        }
    }
    if !v.calls.is_empty() {
        let _ = writeln!(out, "\n  webhook calls");
        for c in &v.calls {
            let _ = writeln!(
                out,
                "    {:<20} calls {:>8}  failed {:>8}  failure rate {}",
                c.webhook,
                c.calls,
                c.failed,
                pct(c.failure_rate)
            );
        }
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt<T: ToString>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// The report as CSV rows `version,section,key,metric,value`, one number per row.
pub fn csv(r: &Report) -> String {
    let mut out = String::from("version,section,key,metric,value\n");
    let mut row = |v: &str, section: &str, key: &str, metric: &str, value: String| {
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            field(v),
            field(section),
            field(key),
            field(metric),
            field(&value)
        );
    };
    for v in &r.versions {
        let s = v.script.as_str();
        let c = &v.counts;
        for (m, x) in [
            ("cards", c.cards),
            ("closed", c.closed),
            ("open", c.open),
            ("resolved", c.resolved),
            ("abandoned", c.abandoned),
            ("handed_off", c.handed_off),
            ("resolved_without_human", c.resolved_without_human),
            ("reopened_within_7d", c.reopened_within_7d),
            ("template_fallbacks", c.template_fallbacks),
        ] {
            row(s, "counts", "", m, x.to_string());
        }
        for (m, x) in [
            ("handoff_rate", c.handoff_rate),
            ("automation_rate", c.automation_rate),
            ("reopen_rate", c.reopen_rate),
        ] {
            row(s, "counts", "", m, opt(x));
        }
        for f in &v.funnel {
            let k = f.stage.as_str();
            row(s, "funnel", k, "entered", f.entered.to_string());
            row(s, "funnel", k, "cards", f.cards.to_string());
            row(s, "funnel", k, "abandoned", f.abandoned.to_string());
            row(s, "funnel", k, "still_there", f.still_there.to_string());
            row(s, "funnel", k, "time_p50", opt(f.time_in_stage.p50));
            row(s, "funnel", k, "time_p90", opt(f.time_in_stage.p90));
            for (to, n) in &f.moved_on {
                row(s, "funnel", k, &format!("moved_on:{to}"), n.to_string());
            }
            for (why, n) in &f.closed {
                row(s, "funnel", k, &format!("closed:{why}"), n.to_string());
            }
        }
        for a in &v.asks {
            let k = format!("{}.{}", a.stage, a.field);
            row(s, "ask", &k, "cards", a.cards.to_string());
            row(s, "ask", &k, "answered", a.answered.to_string());
            row(s, "ask", &k, "dropped", a.dropped.to_string());
            row(
                s,
                "ask",
                &k,
                "refused_answers",
                a.refused_answers.to_string(),
            );
            row(s, "ask", &k, "gave_up", a.gave_up.to_string());
        }
        for f in &v.forms {
            let k = f.form.as_str();
            row(s, "form", k, "sent", f.sent.to_string());
            row(s, "form", k, "submitted", f.submitted.to_string());
            row(s, "form", k, "refused", f.refused.to_string());
            row(
                s,
                "form",
                k,
                "dropped_before_screens",
                f.dropped_before_screens.to_string(),
            );
            for sc in &f.screens {
                let key = format!("{k}.{}", sc.screen);
                row(s, "form_screen", &key, "reached", sc.reached.to_string());
                row(s, "form_screen", &key, "dropped", sc.dropped.to_string());
            }
        }
        let rt = &v.routing;
        row(s, "routing", "", "routed", rt.routed.to_string());
        row(s, "routing", "", "rerouted", rt.rerouted.to_string());
        row(s, "routing", "", "reroutes", rt.reroutes.to_string());
        row(s, "routing", "", "accuracy", opt(rt.accuracy));
        for (team, t) in &rt.by_first_team {
            row(s, "routing", team, "routed", t.routed.to_string());
            row(s, "routing", team, "rerouted", t.rerouted.to_string());
        }
        let k = &v.clarifications;
        row(
            s,
            "clarifications",
            "",
            "refused_answers",
            k.refused_answers.to_string(),
        );
        row(
            s,
            "clarifications",
            "",
            "otherwise_hits",
            k.otherwise_hits.to_string(),
        );
        row(
            s,
            "clarifications",
            "",
            "repeated_questions",
            k.repeated_questions.to_string(),
        );
        row(
            s,
            "clarifications",
            "",
            "unanswered",
            k.unanswered.to_string(),
        );
        row(s, "clarifications", "", "per_card", opt(k.per_card));
        let t = &v.times;
        for (name, p) in [
            ("first_response", &t.first_response),
            ("first_response_business", &t.first_response_business),
            ("resolution", &t.resolution),
            ("resolution_business", &t.resolution_business),
            ("after_form", &t.after_form),
        ] {
            row(s, "times", name, "count", p.count.to_string());
            row(s, "times", name, "p50", opt(p.p50));
            row(s, "times", name, "p90", opt(p.p90));
        }
        for sl in &v.slas {
            let key = format!("{} {}", sl.sla, sl.target.as_str());
            row(s, "sla", &key, "met", sl.met.to_string());
            row(s, "sla", &key, "breached", sl.breached.to_string());
            row(s, "sla", &key, "attainment", opt(sl.attainment));
        }
        for cl in &v.calls {
            row(s, "calls", &cl.webhook, "calls", cl.calls.to_string());
            row(s, "calls", &cl.webhook, "failed", cl.failed.to_string());
            row(
                s,
                "calls",
                &cl.webhook,
                "failure_rate",
                opt(cl.failure_rate),
            );
        }
    }
    out
}

/// The columns of [`cards_csv`], in order.
pub const CARD_COLUMNS: &[&str] = &[
    "script",
    "contact",
    "card",
    "opened_at",
    "first_stage",
    "last_stage",
    "closed_at",
    "close_reason",
    "closed_by",
    "first_team",
    "team",
    "reroutes",
    "handed_off",
    "human",
    "first_response_secs",
    "first_response_business_secs",
    "resolution_secs",
    "resolution_business_secs",
    "after_form_secs",
    "refused_answers",
    "otherwise_hits",
    "unanswered",
    "repeated_questions",
    "forms_submitted",
    "forms_refused",
    "template_fallbacks",
    "calls",
    "calls_failed",
    "reopened_within_7d",
    "sla_met",
    "sla_breached",
];

/// One row per card, for spreadsheets.
pub fn cards_csv(rows: &[CardRow]) -> String {
    let mut out = CARD_COLUMNS.join(",");
    out.push('\n');
    for r in rows {
        let cells: [String; 31] = [
            r.script.clone(),
            r.contact.clone(),
            r.card.to_string(),
            r.opened_at.to_string(),
            r.first_stage.clone(),
            r.last_stage.clone(),
            opt(r.closed_at),
            r.close_reason.clone().unwrap_or_default(),
            r.closed_by
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            r.first_team.clone().unwrap_or_default(),
            r.team.clone().unwrap_or_default(),
            r.reroutes.to_string(),
            r.handed_off.to_string(),
            r.human.to_string(),
            opt(r.first_response.map(|d| d.wall_secs)),
            opt(r.first_response.and_then(|d| d.business_secs)),
            opt(r.resolution.map(|d| d.wall_secs)),
            opt(r.resolution.and_then(|d| d.business_secs)),
            opt(r.after_form_secs),
            r.refused_answers.to_string(),
            r.otherwise_hits.to_string(),
            r.unanswered.to_string(),
            r.repeated_questions.to_string(),
            r.forms_submitted.to_string(),
            r.forms_refused.to_string(),
            r.template_fallbacks.to_string(),
            r.calls.to_string(),
            r.calls_failed.to_string(),
            r.reopened_within_7d.to_string(),
            r.sla_met.to_string(),
            r.sla_breached.to_string(),
        ];
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}
