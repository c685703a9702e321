//! Replay of recorded conversations against a candidate: the same script replays
//! identical; each class of divergence, made by a deliberate change, is reported at the
//! turn where it happens; reports render for people and as JSON (`docs/publishing.md`).

#[path = "support/engine.rs"]
mod support;

#[path = "support/conversations.rs"]
mod conversations;

use conversations::{SHOP, at, recordings, t0, text};
use support::program;
use wafl::engine::{Contact, Event};
use wafl::publish::replay::{self, Class, Recorder, Recording, Report, Verdict};
use wafl::syntax::source::SourceFile;

fn replay_all(candidate: &str) -> Vec<replay::Conversation> {
    let live = program(SHOP);
    let cand = program(candidate);
    recordings(&live)
        .iter()
        .map(|rec| replay::replay(&cand, rec))
        .collect()
}

/// `(contact, class, turn)` of every conversation that diverged.
fn divergences(candidate: &str) -> Vec<(String, Class, usize)> {
    replay_all(candidate)
        .into_iter()
        .filter_map(|c| match c.verdict {
            Verdict::Diverged(d) => Some((c.contact, d.class, d.turn)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_same_script_replays_identical() {
    let all = replay_all(SHOP);
    assert_eq!(all.len(), 5);
    for c in &all {
        assert_eq!(c.verdict, Verdict::Identical, "{}", c.contact);
        assert_eq!(c.pairs.len(), c.turns, "{}: every turn compared", c.contact);
    }
    // The recordings exercise what they claim to.
    let recs = recordings(&program(SHOP));
    assert!(
        recs[0]
            .turns
            .iter()
            .any(|t| matches!(t.input, Event::WebhookResult { .. }))
    );
    assert!(
        recs[1]
            .turns
            .iter()
            .any(|t| matches!(t.input, Event::Timer { .. }))
    );
    assert!(
        recs[2]
            .turns
            .iter()
            .any(|t| matches!(t.input, Event::Business(_)))
    );
    assert!(
        recs[3]
            .turns
            .iter()
            .any(|t| matches!(t.input, Event::Agent(_)))
    );
    assert!(
        recs[4]
            .turns
            .iter()
            .any(|t| matches!(&t.input, Event::Timer { id } if id.starts_with("call/")))
    );
}

#[test]
fn edits_elsewhere_change_nothing() {
    let inserted = SHOP.replace(
        "stage tracking {\n",
        "stage tracking {\n  on keyword \"zzz\" { ignore }\n",
    );
    assert_eq!(divergences(&inserted), []);
}

#[test]
fn other_wording_is_reported_where_the_text_changed() {
    let cand = SHOP.replace(
        "Order {order}: {status}.",
        "Your order {order} is {status}.",
    );
    assert_eq!(
        divergences(&cand),
        [("+5511900000001".into(), Class::OtherWording, 3)]
    );
}

#[test]
fn another_route_is_reported_at_the_turn_that_takes_it() {
    let cand = SHOP.replace(
        "on button \"Track\" { goto tracking }",
        "on button \"Track\" { handoff support }",
    );
    assert_eq!(
        divergences(&cand),
        [
            ("+5511900000001".into(), Class::OtherRoute, 1),
            ("+5511900000005".into(), Class::OtherRoute, 1),
        ]
    );
}

#[test]
fn another_payload_is_reported_at_the_webhook_answer() {
    let cand = SHOP.replace(
        "post crm { order: order, status: status }",
        "post crm { order: order, status: status, channel: \"whatsapp\" }",
    );
    assert_eq!(
        divergences(&cand),
        [("+5511900000001".into(), Class::OtherPayload, 3)]
    );
    let buttons = SHOP.replace("[\"Track\", \"Contact\"]", "[\"Track\", \"Write to us\"]");
    let d = divergences(&buttons);
    assert!(
        d.contains(&("+5511900000001".into(), Class::OtherPayload, 0)),
        "{d:?}"
    );
}

#[test]
fn a_refused_event_or_a_spent_budget_is_a_candidate_error() {
    let cand = SHOP.replace("eta: date }", "eta: number }");
    assert_eq!(
        divergences(&cand),
        [("+5511900000003".into(), Class::CandidateError, 0)]
    );
    let conv = replay_all(&cand)
        .into_iter()
        .find(|c| c.contact == "+5511900000003")
        .expect("the event conversation");
    let Verdict::Diverged(d) = conv.verdict else {
        panic!("diverged")
    };
    assert!(
        d.detail
            .contains("the candidate refuses the event: `eta` must be a number"),
        "{}",
        d.detail
    );

    let tiny = SHOP.replace(
        "window template back_soon }",
        "window template back_soon; budget 2 }",
    );
    let d = divergences(&tiny);
    assert!(
        d.iter().any(|(_, c, _)| *c == Class::CandidateError),
        "{d:?}"
    );
}

#[test]
fn a_timer_only_the_candidate_has_diverges_when_it_fires() {
    let cand = SHOP.replace(
        "after 10m silence { reply \"Still there?\" }",
        "after 5m silence { reply \"Hello?\" }\n  after 10m silence { reply \"Still there?\" }",
    );
    let d = divergences(&cand);
    // The second conversation was silent for 11 minutes: the new timer fires at 5.
    assert!(
        d.contains(&("+5511900000002".into(), Class::OtherRoute, 1)),
        "{d:?}"
    );
    let conv = replay_all(&cand)
        .into_iter()
        .find(|c| c.contact == "+5511900000002")
        .expect("recorded");
    let Verdict::Diverged(div) = &conv.verdict else {
        panic!("diverged")
    };
    assert_eq!(div.at, at(5 * 60));
    assert!(
        div.detail.contains("the live bot did nothing then"),
        "{}",
        div.detail
    );
    // Changing the live timer's duration is a timer the live bot never had.
    let later = SHOP.replace("after 10m silence", "after 20m silence");
    let d = divergences(&later);
    assert!(
        d.contains(&("+5511900000002".into(), Class::OtherRoute, 1)),
        "{d:?}"
    );
}

#[test]
fn recordings_are_versioned_json_and_odd_ones_are_skipped() {
    let recs = recordings(&program(SHOP));
    for rec in &recs {
        let text = serde_json::to_string(rec).expect("serialises");
        let back: Recording = serde_json::from_str(&text).expect("reads back");
        assert_eq!(&back, rec);
    }
    let cand = program(SHOP);
    let mut future = recs[0].clone();
    future.v = 99;
    assert!(matches!(
        replay::replay(&cand, &future).verdict,
        Verdict::Skipped { ref reason } if reason.contains("version 99")
    ));
    let mut mid_card = recs[1].clone();
    let mut rec = Recorder::new(&cand, Contact::new("+5511900000009"), t0());
    rec.input(text("hi"), at(0));
    mid_card.start = rec.state().clone();
    assert!(matches!(
        replay::replay(&cand, &mid_card).verdict,
        Verdict::Skipped { ref reason } if reason.contains("inside an open card")
    ));
}

fn report(candidate: &str) -> Report {
    let cand = program(candidate);
    let source = SourceFile::new("candidate.flow", candidate);
    Report::new(&cand, Some(&source), replay_all(candidate))
}

#[test]
fn reports_sum_up_per_stage_and_handler_and_show_divergences_side_by_side() {
    let cand = SHOP
        .replace("Order {order}: {status}.", "Your order {order} is {status}.")
        .replace(
            "on button \"Track\" { goto tracking }",
            "on button \"Track\" { goto tracking }\n  on button \"Contact\" { reply \"Write to help@example.com\" }",
        );
    let r = report(&cand);
    assert_eq!(r.summary.conversations, 5);
    assert_eq!(r.summary.identical, 3);
    assert_eq!(r.summary.diverged, 2);
    assert!((r.summary.divergence_pct - 40.0).abs() < 1e-9);
    assert!(r.exceeds(10.0));
    assert!(!r.exceeds(40.0));
    insta::assert_snapshot!(r.render());
    insta::assert_json_snapshot!(r.to_json());
}

#[test]
fn identical_replays_report_no_divergence() {
    let r = report(SHOP);
    assert_eq!(r.summary.diverged, 0);
    assert!(!r.exceeds(0.0));
    insta::assert_snapshot!(r.render());
}

/// A recording as a test block, added to the script it was recorded with.
fn saved(src: &str, rec: &Recording) -> wafl::publish::save_test::SavedTest {
    wafl::publish::save_test::save_test(&program(src), rec, "recorded").expect("a test is written")
}

#[test]
fn saved_tests_pass_against_the_recorded_script_with_personal_data_masked() {
    let recs = recordings(&program(SHOP));
    for rec in &recs {
        let test = saved(SHOP, rec);
        let script = format!("{SHOP}\n{}", test.text);
        let results = support::run_tests(&script);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].1, None, "{}", test.text);
        // Nothing personal is left: not the phone, nor the e-mail, name or order.
        for secret in [
            &rec.contact[3..],
            "ana@example.com",
            "Ana Souza",
            "AB1234",
            "CD5678",
        ] {
            assert!(!test.text.contains(secret), "{secret} in\n{}", test.text);
        }
    }
    insta::assert_snapshot!("saved_tracking", saved(SHOP, &recs[0]).text);
    insta::assert_snapshot!("saved_form", saved(SHOP, &recs[1]).text);
    insta::assert_snapshot!("saved_event", saved(SHOP, &recs[2]).text);
    let agent = saved(SHOP, &recs[3]);
    // The agent's part is played with `agent` steps, its texts masked.
    assert_eq!(agent.cut, None);
    assert!(agent.text.contains("agent release"), "{}", agent.text);
    insta::assert_snapshot!("saved_agent", agent.text);
}

#[test]
fn a_value_the_route_depends_on_is_kept_as_written() {
    let src = SHOP.replace(
        "  otherwise { reply buttons \"Hi! What do you need?\"",
        "  on message when message.text contains \"urgent\" { reply \"Right away.\"; handoff support }\n  otherwise { reply buttons \"Hi! What do you need?\"",
    );
    let p = program(&src);
    let mut r = Recorder::new(&p, Contact::new("+5511900000010"), t0());
    r.input(text("this is URGENT please"), at(0));
    let rec = r.finish();
    let test = saved(&src, &rec);
    assert_eq!(test.kept, ["turn 1: \"this is URGENT please\""]);
    assert!(
        test.text.contains("send \"this is URGENT please\""),
        "{}",
        test.text
    );
    let results = support::run_tests(&format!("{src}\n{}", test.text));
    assert_eq!(results[0].1, None);
}

#[test]
fn a_route_a_test_cannot_take_cuts_the_test_short_and_says_why() {
    let src = SHOP.replace(
        "  otherwise { reply buttons \"Hi! What do you need?\"",
        "  when contact.attr.plan == \"gold\" { reply \"Welcome, gold member.\" }\n  otherwise { reply buttons \"Hi! What do you need?\"",
    );
    let p = program(&src);
    let mut contact = Contact::new("+5511900000011");
    contact.attrs.insert("plan".into(), "gold".into());
    let mut r = Recorder::new(&p, contact, t0());
    r.input(text("hi"), at(0));
    r.input(text("hello again"), at(60));
    let test = saved(&src, &r.finish());
    let cut = test.cut.expect("the test stops short");
    assert!(cut.contains("before turn 1"), "{cut}");
    assert!(!test.text.contains("send"), "{}", test.text);
    let results = support::run_tests(&format!("{src}\n{}", test.text));
    assert_eq!(results[0].1, None);
}
