//! Reports over 1,000,000 card events (62,500 cards of 16 events, two script versions,
//! every kind of event the report reads): the aggregate report, the per-card rows and
//! their CSV. Target: the report in well under 2 s on one core.

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use std::hint::black_box;
use wafl::compile::SlaTarget;
use wafl::engine::events::{
    CARD_EVENT_VERSION, CardEvent, Cause, Durations, Origin, RuleKey, TimerCause, What,
};
use wafl::measure::{self, Period};

const CARDS: usize = 62_500;

fn rule(stage: &str, trigger: &str) -> Option<RuleKey> {
    Some(RuleKey {
        stage: Some(stage.into()),
        trigger: trigger.into(),
        sla: None,
    })
}

/// The events of one card: through a menu, a question (sometimes refused), a form with
/// two screens, a lookup, routing (sometimes re-routed), a first reply and a closing.
fn card(i: usize, out: &mut Vec<CardEvent>) {
    let start: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap_or_default();
    let opened = start
        .checked_add(SignedDuration::from_secs((i as i64 * 43) % (31 * 86_400)))
        .unwrap_or(start);
    let contact = format!("+1555{i:07}");
    let script = if i % 3 == 0 {
        "sha256:aaaa"
    } else {
        "sha256:bbbb"
    };
    let customer = Cause {
        origin: Origin::Customer,
        rule: rule("menu", "otherwise"),
    };
    let agent = Cause {
        origin: Origin::Agent {
            agent: Some("ana@harbor.example".into()),
        },
        rule: None,
    };
    let timer = Cause {
        origin: Origin::Timer(TimerCause::After {
            rule: RuleKey {
                stage: Some("review".into()),
                trigger: "after 259200s silence".into(),
                sla: None,
            },
        }),
        rule: rule("review", "after 259200s silence"),
    };
    let mut t = opened;
    let mut push = |secs: i64, stage: &str, cause: &Cause, what: What| {
        t = t.checked_add(SignedDuration::from_secs(secs)).unwrap_or(t);
        out.push(CardEvent {
            v: CARD_EVENT_VERSION,
            contact: contact.clone(),
            card: 1,
            at: t,
            script: script.into(),
            stage: stage.into(),
            cause: cause.clone(),
            what,
        });
    };
    let d = |w: i64| Durations {
        wall_secs: w,
        business_secs: Some(w / 3),
    };
    let field = || "policy".to_string();
    let team = if i % 7 == 0 { "support" } else { "claims" };
    push(0, "menu", &customer, What::Opened);
    push(0, "menu", &customer, What::StageEntered { from: None });
    push(5, "menu", &customer, What::Otherwise);
    push(
        60,
        "menu",
        &customer,
        What::StageLeft {
            to: Some("claim".into()),
        },
    );
    push(
        0,
        "claim",
        &customer,
        What::StageEntered {
            from: Some("menu".into()),
        },
    );
    push(0, "claim", &customer, What::Asked { field: field() });
    if i % 4 == 0 {
        push(
            40,
            "claim",
            &customer,
            What::AnswerRefused {
                field: field(),
                tries_left: 2,
            },
        );
    } else {
        push(
            40,
            "claim",
            &customer,
            What::CallResult {
                webhook: "policies".into(),
                ok: i % 9 != 0,
                reason: None,
            },
        );
    }
    push(30, "claim", &customer, What::Answered { field: field() });
    push(
        0,
        "claim",
        &customer,
        What::FormScreen {
            form: "claim".into(),
            screen: if i % 2 == 0 {
                "WHAT_HAPPENED"
            } else {
                "DETAILS"
            }
            .into(),
        },
    );
    push(
        120,
        "claim",
        &customer,
        What::FormSubmitted {
            form: "claim".into(),
        },
    );
    push(
        0,
        "claim",
        &customer,
        What::Routed {
            team: team.into(),
            previous: (i % 11 == 0).then(|| "support".to_string()),
        },
    );
    push(
        0,
        "claim",
        &customer,
        What::StageLeft {
            to: Some("review".into()),
        },
    );
    push(
        0,
        "review",
        &customer,
        What::StageEntered {
            from: Some("claim".into()),
        },
    );
    let wait = ((i * 7919) % 90_000) as i64;
    push(
        wait,
        "review",
        &agent,
        What::FirstHumanReply {
            agent: "ana@harbor.example".into(),
            waited: d(wait + 255),
        },
    );
    push(
        0,
        "review",
        &agent,
        if i % 5 == 0 {
            What::SlaBreached {
                sla: "claims_desk".into(),
                target: SlaTarget::FirstReply,
            }
        } else {
            What::SlaMet {
                sla: "claims_desk".into(),
                target: SlaTarget::FirstReply,
                took: d(wait),
            }
        },
    );
    let by = if i % 6 == 0 { &timer } else { &agent };
    push(
        3600,
        "review",
        by,
        What::Closed {
            reason: Some(if i % 6 == 0 { "no answer" } else { "resolved" }.into()),
            open_for: d(wait + 3855),
        },
    );
}

fn events() -> Vec<CardEvent> {
    let mut out = Vec::with_capacity(CARDS * 16);
    for i in 0..CARDS {
        card(i, &mut out);
    }
    out
}

fn bench(c: &mut Criterion) {
    let events = events();
    assert_eq!(events.len(), 1_000_000);
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    g.bench_function("report_1m_events", |b| {
        b.iter(|| measure::report(black_box(&events), Period::all()))
    });
    g.bench_function("card_rows_and_csv_1m_events", |b| {
        b.iter(|| measure::render::cards_csv(&measure::cards(black_box(&events), Period::all())))
    });
    let report = measure::report(&events, Period::all());
    g.bench_function("render_table_json_csv", |b| {
        b.iter(|| {
            (
                measure::render::table(black_box(&report)),
                measure::render::json(&report),
                measure::render::csv(&report),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
