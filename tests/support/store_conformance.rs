//! The conformance suite of the storage seam, written once against `dyn Store`: every
//! backend runs it by calling [`run_all`] with a factory of fresh, empty stores.

#![allow(dead_code)]

use serde_json::json;
use wafl::daemon::outbox::item::OutboxItem;
use wafl::daemon::store::persisted::ConversationBody;
use wafl::daemon::store::*;
use wafl::daemon::wire::outbound::OutMessage;

/// A factory of fresh, empty stores.
pub type Make<'a> = &'a dyn Fn() -> Box<dyn Store>;

/// One named check.
type Check = (&'static str, fn(Make));

/// Runs every check against stores made by `make`.
pub fn run_all(make: Make) {
    let checks: &[Check] = &[
        ("ingest_deduplicates", ingest_deduplicates),
        (
            "step_is_atomic_and_keys_are_unique",
            step_is_atomic_and_keys_are_unique,
        ),
        ("claims_hand_out_only_heads", claims_hand_out_only_heads),
        (
            "retries_keep_the_head_and_dead_letters_release_it",
            retries_keep_the_head_and_dead_letters_release_it,
        ),
        (
            "crash_recovery_reclaims_inflight_rows",
            crash_recovery_reclaims_inflight_rows,
        ),
        (
            "dead_letters_are_listed_and_resent_in_order",
            dead_letters_are_listed_and_resent_in_order,
        ),
        (
            "replace_sends_the_new_item_first",
            replace_sends_the_new_item_first,
        ),
        (
            "statuses_only_move_up_and_early_ones_apply",
            statuses_only_move_up_and_early_ones_apply,
        ),
        (
            "timers_are_leased_and_deleted_by_their_firing",
            timers_are_leased_and_deleted_by_their_firing,
        ),
        (
            "conversations_keep_program_hash_and_waiting_handler",
            conversations_keep_program_hash_and_waiting_handler,
        ),
        (
            "flow_tokens_are_issued_and_used_once",
            flow_tokens_are_issued_and_used_once,
        ),
        ("enqueue_appends_once", enqueue_appends_once),
        ("read_side_reports", read_side_reports),
        (
            "revisions_are_immutable_and_one_is_active",
            revisions_are_immutable_and_one_is_active,
        ),
        (
            "inbound_runs_once_and_the_backlog_counts_it",
            inbound_runs_once_and_the_backlog_counts_it,
        ),
        (
            "console_accounts_and_sessions",
            console_accounts_and_sessions,
        ),
        ("audit_keeps_the_actor", audit_keeps_the_actor),
    ];
    for (name, check) in checks {
        eprintln!("store conformance: {name}");
        check(make);
    }
}

fn msg(w: &str, c: &str) -> NewInbound {
    NewInbound {
        wamid: w.into(),
        contact: c.into(),
        payload: format!("{{\"id\":\"{w}\"}}"),
    }
}

fn text(to: &str, n: usize) -> OutboxItem {
    OutboxItem::Whatsapp {
        to: format!("+{to}"),
        engine_id: format!("m{n}"),
        message: OutMessage::Text {
            body: format!("reply {n}"),
        },
    }
}

fn body(waiting: Option<&str>) -> ConversationBody {
    let suspended = match waiting {
        Some(trigger) => json!({
            "kind": "ask",
            "handler": {"key": {"stage": "support", "trigger": trigger}, "fingerprint": "f1"},
            "resume": 3, "fallback": null, "field": "email", "prompt": "email?", "tries_left": 2
        }),
        None => serde_json::Value::Null,
    };
    ConversationBody {
        version: 2,
        program: "sha256:abc".into(),
        state: json!({"card": {"stage": "support", "suspended": suspended}}),
    }
}

fn step(contact: &str, items: &[usize]) -> StepWrite {
    let mut w = StepWrite::new(contact, body(None), "sha256:abc");
    w.stage = Some("support".into());
    for n in items {
        w.outbox.push(NewOutbox {
            contact: contact.into(),
            item: text(contact, *n),
            idem_key: format!("{contact}:{n}"),
        });
    }
    w
}

fn claim_ids(s: &dyn Store, now: i64) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = s
        .claim_outbox(now, 100)
        .expect("claim")
        .into_iter()
        .map(|r| (r.contact, r.item.engine_id().to_string()))
        .collect();
    rows.sort();
    rows
}

fn done() -> Settlement {
    Settlement::Done {
        wamid: None,
        history: None,
    }
}

fn ingest_deduplicates(make: Make) {
    let s = make();
    let b1 = IngestBatch {
        messages: vec![msg("w1", "a"), msg("w2", "a"), msg("w1", "a")],
        statuses: vec![NewStatus {
            wamid: "o1".into(),
            status: "sent".into(),
            at: 1,
            payload: "{}".into(),
        }],
        unknown: vec![("flows".into(), "{}".into())],
    };
    let r = s.ingest(b1, 10).expect("ingest");
    assert_eq!(r.new_messages.len(), 2);
    assert_eq!(r.duplicate_messages, 1);
    assert_eq!(r.new_statuses.len(), 1);
    let b2 = IngestBatch {
        messages: vec![msg("w2", "a"), msg("w3", "b")],
        statuses: vec![
            NewStatus {
                wamid: "o1".into(),
                status: "sent".into(),
                at: 1,
                payload: "{}".into(),
            },
            NewStatus {
                wamid: "o1".into(),
                status: "read".into(),
                at: 2,
                payload: "{}".into(),
            },
        ],
        unknown: vec![],
    };
    let r = s.ingest(b2, 11).expect("ingest");
    assert_eq!(r.new_messages.len(), 1);
    assert_eq!(r.duplicate_messages, 1);
    assert_eq!(r.new_statuses.len(), 1);
    assert_eq!(r.duplicate_statuses, 1);
    let pending = s.pending_inbound().expect("pending");
    assert_eq!(
        pending.iter().map(|p| p.wamid.as_str()).collect::<Vec<_>>(),
        ["w1", "w2", "w3"],
        "pending inbound comes back in arrival order"
    );
    assert_eq!(s.unknown_events("flows").expect("unknown"), ["{}"]);
    assert_eq!(s.inbound_counts().expect("counts"), (3, 0));
}

fn step_is_atomic_and_keys_are_unique(make: Make) {
    let s = make();
    let r = s
        .ingest(
            IngestBatch {
                messages: vec![msg("w1", "a")],
                ..Default::default()
            },
            1,
        )
        .expect("ingest");
    let mut w = step("a", &[1, 1, 2]);
    w.inbound_seq = Some(r.new_messages[0].seq);
    w.timers_set.push(TimerRow {
        id: "a|t1".into(),
        contact: "a".into(),
        due_ms: 50,
        timer: "t1".into(),
    });
    w.history.push(NewHistory {
        direction: "out-failed".into(),
        body: "{\"reason\":\"opted out\"}".into(),
    });
    let applied = s.apply_step(w, 2).expect("step");
    assert_eq!(
        applied.outbox_ids.len(),
        2,
        "the same idempotency key is stored once"
    );
    assert!(s.pending_inbound().expect("pending").is_empty());
    assert_eq!(s.inbound_counts().expect("counts"), (1, 1));
    assert_eq!(s.next_timer_ms().expect("next"), Some(50));
    assert_eq!(s.conversations(Some("support")).expect("cards").len(), 1);
    assert_eq!(s.audit("a").expect("audit").len(), 1);
    let history = s.history("a").expect("history");
    assert!(history.iter().any(|h| h.direction == "out-failed"));
    // The same step stored again (a replay after a crash) queues nothing new.
    let again = s.apply_step(step("a", &[1, 2]), 3).expect("step again");
    assert!(again.outbox_ids.is_empty());
}

fn claims_hand_out_only_heads(make: Make) {
    let s = make();
    s.apply_step(step("a", &[1, 2, 3]), 1).expect("a");
    s.apply_step(step("b", &[4]), 1).expect("b");
    assert_eq!(
        claim_ids(s.as_ref(), 1),
        [("a".into(), "m1".into()), ("b".into(), "m4".into())],
        "one row per contact: the oldest"
    );
    assert!(
        claim_ids(s.as_ref(), 1).is_empty(),
        "a head in flight blocks its contact"
    );
    let counts = s.outbox_counts().expect("counts");
    assert_eq!((counts.pending, counts.inflight), (2, 2));
    // Claims respect the limit.
    let t = make();
    for c in ["c1", "c2", "c3"] {
        t.apply_step(step(c, &[1]), 1).expect("step");
    }
    assert_eq!(t.claim_outbox(1, 2).expect("claim").len(), 2);
    assert_eq!(t.claim_outbox(1, 2).expect("claim").len(), 1);
}

fn retries_keep_the_head_and_dead_letters_release_it(make: Make) {
    let s = make();
    let ids = s
        .apply_step(step("a", &[1, 2, 3]), 1)
        .expect("a")
        .outbox_ids;
    let first = s.claim_outbox(1, 10).expect("claim");
    assert_eq!(first[0].id, ids[0]);
    assert_eq!(first[0].attempts, 1);
    s.settle_outbox(ids[0], done(), 2).expect("done");
    let second = s.claim_outbox(2, 10).expect("claim");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, ids[1]);
    s.settle_outbox(
        ids[1],
        Settlement::Retry {
            next_ms: 1000,
            error: "(131056) pair rate".into(),
        },
        3,
    )
    .expect("retry");
    assert!(
        s.claim_outbox(999, 10).expect("claim").is_empty(),
        "a row waiting to be retried holds back the contact's later rows"
    );
    let retried = s.claim_outbox(1000, 10).expect("claim");
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].id, ids[1]);
    assert_eq!(retried[0].attempts, 2);
    s.settle_outbox(
        ids[1],
        Settlement::Dead {
            error: "gave up".into(),
            history: Some("{\"reason\":\"gave up\"}".into()),
        },
        1001,
    )
    .expect("dead");
    let third = s.claim_outbox(1001, 10).expect("claim");
    assert_eq!(third[0].id, ids[2], "a dead letter releases the queue");
    assert!(
        s.history("a")
            .expect("history")
            .iter()
            .any(|h| h.direction == "out-dead"),
        "the history shows the reply that never went out"
    );
}

fn crash_recovery_reclaims_inflight_rows(make: Make) {
    let s = make();
    let ids = s.apply_step(step("a", &[1, 2]), 1).expect("a").outbox_ids;
    assert_eq!(s.claim_outbox(1, 10).expect("claim").len(), 1);
    assert_eq!(s.recover_inflight().expect("recover"), 1);
    let again = s.claim_outbox(1, 10).expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, ids[0], "the same head, not the next row");
    assert_eq!(again[0].attempts, 2);
}

fn dead_letters_are_listed_and_resent_in_order(make: Make) {
    let s = make();
    let ids = s.apply_step(step("a", &[1, 2]), 1).expect("a").outbox_ids;
    s.claim_outbox(1, 10).expect("claim");
    s.settle_outbox(
        ids[0],
        Settlement::Dead {
            error: "outage".into(),
            history: None,
        },
        2,
    )
    .expect("dead");
    let dead = s.dead_letters(10).expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, ids[0]);
    assert_eq!(dead[0].error.as_deref(), Some("outage"));
    assert_eq!(dead[0].item, Some(text("a", 1)));
    assert_eq!(s.outbox_counts().expect("counts").dead, 1);
    // The next row is the head now; resending the dead one puts it back in front.
    assert_eq!(
        s.retry_dead_letters(DeadLetterSelection::One(ids[0]), 5)
            .expect("retry"),
        [ids[0]]
    );
    let claimed = s.claim_outbox(5, 10).expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, ids[0], "the resent row keeps its place");
    assert_eq!(claimed[0].created_ms, 5, "with a fresh retry horizon");
    assert!(s.dead_letters(10).expect("dead").is_empty());
    assert!(
        s.retry_dead_letters(DeadLetterSelection::One(ids[1]), 6)
            .expect("retry")
            .is_empty(),
        "only dead rows are resent"
    );
    // Bulk resend.
    s.settle_outbox(
        ids[0],
        Settlement::Dead {
            error: "again".into(),
            history: None,
        },
        7,
    )
    .expect("dead");
    let b = s.apply_step(step("b", &[9]), 7).expect("b").outbox_ids;
    s.claim_outbox(7, 10).expect("claim");
    for id in [ids[1], b[0]] {
        s.settle_outbox(
            id,
            Settlement::Dead {
                error: "x".into(),
                history: None,
            },
            8,
        )
        .expect("dead");
    }
    assert_eq!(
        s.retry_dead_letters(DeadLetterSelection::All, 9)
            .expect("all")
            .len(),
        3
    );
    assert_eq!(
        claim_ids(s.as_ref(), 9),
        [("a".into(), "m1".into()), ("b".into(), "m9".into())]
    );
}

fn replace_sends_the_new_item_first(make: Make) {
    let s = make();
    let ids = s.apply_step(step("a", &[1, 2]), 1).expect("a").outbox_ids;
    s.claim_outbox(1, 10).expect("claim");
    let template = OutboxItem::Whatsapp {
        to: "+a".into(),
        engine_id: "m1".into(),
        message: OutMessage::Template {
            name: "reopen".into(),
            lang: "pt_BR".into(),
            params: vec![],
        },
    };
    s.settle_outbox(
        ids[0],
        Settlement::Replace {
            item: template.clone(),
            note: "window closed".into(),
        },
        2,
    )
    .expect("replace");
    let claimed = s.claim_outbox(2, 10).expect("claim");
    assert_eq!(claimed[0].id, ids[0]);
    assert_eq!(claimed[0].item, template);
}

fn statuses_only_move_up_and_early_ones_apply(make: Make) {
    let s = make();
    let ids = s.apply_step(step("a", &[1, 2]), 1).expect("a").outbox_ids;
    s.claim_outbox(1, 10).expect("claim");
    // A status that arrives before the send's answer is kept...
    s.ingest(
        IngestBatch {
            statuses: vec![NewStatus {
                wamid: "wamid.1".into(),
                status: "delivered".into(),
                at: 2,
                payload: "{}".into(),
            }],
            ..Default::default()
        },
        2,
    )
    .expect("early status");
    assert_eq!(
        s.apply_status("wamid.1", "delivered", Some(ids[0]))
            .expect("status")
            .map(|r| r.id),
        Some(ids[0]),
        "found by the row id echoed back"
    );
    // ...and applied when the answer lands.
    s.settle_outbox(
        ids[0],
        Settlement::Done {
            wamid: Some("wamid.1".into()),
            history: Some("{\"type\":\"text\"}".into()),
        },
        3,
    )
    .expect("done");
    let status = |s: &dyn Store| {
        s.history("a")
            .expect("history")
            .into_iter()
            .find(|h| h.wamid.as_deref() == Some("wamid.1"))
            .and_then(|h| h.status)
    };
    assert_eq!(status(s.as_ref()).as_deref(), Some("delivered"));
    s.apply_status("wamid.1", "read", None).expect("read");
    let found = s.apply_status("wamid.1", "sent", None).expect("late sent");
    assert_eq!(
        found.map(|r| r.contact).as_deref(),
        Some("a"),
        "found by wamid"
    );
    assert_eq!(
        status(s.as_ref()).as_deref(),
        Some("read"),
        "a late `sent` does not regress"
    );
    s.apply_status("wamid.1", "failed", None).expect("failed");
    s.apply_status("wamid.1", "read", None).expect("read");
    assert_eq!(
        status(s.as_ref()).as_deref(),
        Some("failed"),
        "failed is final"
    );
    assert!(
        s.apply_status("wamid.unknown", "read", None)
            .expect("unknown")
            .is_none()
    );
}

fn timers_are_leased_and_deleted_by_their_firing(make: Make) {
    let s = make();
    let mut w = step("a", &[]);
    w.timers_set.push(TimerRow {
        id: "a|t1".into(),
        contact: "a".into(),
        due_ms: 50,
        timer: "t1".into(),
    });
    s.apply_step(w, 1).expect("set");
    assert!(s.claim_due_timers(49, 100, 10).expect("early").is_empty());
    let due = s.claim_due_timers(50, 100, 10).expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].timer, "t1");
    assert!(
        s.claim_due_timers(60, 100, 10).expect("leased").is_empty(),
        "a claimed timer is not handed out again during its lease"
    );
    assert_eq!(
        s.claim_due_timers(150, 100, 10).expect("lease over").len(),
        1,
        "after the lease (a failed step) it is claimed again"
    );
    // The timer is set again before the firing is stored: the firing deletes only itself.
    let mut reset = step("a", &[]);
    reset.timers_set.push(TimerRow {
        id: "a|t1".into(),
        contact: "a".into(),
        due_ms: 500,
        timer: "t1".into(),
    });
    s.apply_step(reset, 151).expect("reset");
    let mut fired = step("a", &[]);
    fired.timer_done = Some(("a|t1".into(), 50));
    s.apply_step(fired, 152).expect("fired");
    assert_eq!(s.next_timer_ms().expect("next"), Some(500));
    let mut fired = step("a", &[]);
    fired.timer_done = Some(("a|t1".into(), 500));
    s.apply_step(fired, 501).expect("fired");
    assert_eq!(s.next_timer_ms().expect("next"), None);
    let mut cancel = step("a", &[]);
    cancel.timers_set.push(TimerRow {
        id: "a|t2".into(),
        contact: "a".into(),
        due_ms: 900,
        timer: "t2".into(),
    });
    s.apply_step(cancel, 502).expect("set t2");
    let mut cancel = step("a", &[]);
    cancel.timers_cancelled.push("a|t2".into());
    s.apply_step(cancel, 503).expect("cancel");
    assert_eq!(s.next_timer_ms().expect("next"), None);
}

fn conversations_keep_program_hash_and_waiting_handler(make: Make) {
    let s = make();
    let mut w = StepWrite::new("a", body(Some("keyword \"email\"")), "sha256:abc");
    w.stage = Some("support".into());
    s.apply_step(w, 1).expect("a");
    let mut w = StepWrite::new("b", body(Some("keyword \"email\"")), "sha256:abc");
    w.stage = Some("support".into());
    s.apply_step(w, 1).expect("b");
    s.apply_step(step("c", &[]), 1).expect("c");
    let stored = s.conversation("a").expect("read").expect("stored");
    assert_eq!(stored.body, body(Some("keyword \"email\"")));
    assert_eq!(stored.body.program, "sha256:abc");
    assert_eq!(stored.stage.as_deref(), Some("support"));
    assert!(s.conversation("nobody").expect("read").is_none());
    let waiting = s.waiting_cards().expect("waiting");
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].cards, 2);
    assert_eq!(waiting[0].handler.key.trigger, "keyword \"email\"");
    assert_eq!(waiting[0].handler.fingerprint, "f1");
    // The card stops waiting: it no longer counts.
    s.apply_step(step("a", &[]), 2).expect("a again");
    assert_eq!(s.waiting_cards().expect("waiting")[0].cards, 1);
}

fn flow_tokens_are_issued_and_used_once(make: Make) {
    let s = make();
    let mut w = step("a", &[]);
    w.tokens_issued.push(FlowToken {
        token: "tok".into(),
        contact: "a".into(),
        form: "signup".into(),
        card_id: 1,
        issued_ms: 1,
        used_ms: None,
    });
    s.apply_step(w, 1).expect("issue");
    assert_eq!(
        s.flow_token("tok").expect("read").expect("issued").used_ms,
        None
    );
    let mut w = step("a", &[]);
    w.token_used = Some("tok".into());
    s.apply_step(w, 5).expect("use");
    let mut w = step("a", &[]);
    w.token_used = Some("tok".into());
    s.apply_step(w, 9).expect("use again");
    assert_eq!(
        s.flow_token("tok").expect("read").expect("issued").used_ms,
        Some(5),
        "the first use is kept"
    );
    assert!(s.flow_token("nope").expect("read").is_none());
    s.record_rejected("flows_refused", "{\"why\":1}", 3)
        .expect("rejected");
    assert_eq!(s.unknown_events("flows_refused").expect("read").len(), 1);
}

fn enqueue_appends_once(make: Make) {
    let s = make();
    let ids = s.apply_step(step("a", &[1]), 1).expect("a").outbox_ids;
    let extra = s
        .enqueue("a", text("a", 7), "a:x:window", 2)
        .expect("enqueue");
    assert!(extra.is_some());
    assert!(
        s.enqueue("a", text("a", 7), "a:x:window", 3)
            .expect("again")
            .is_none()
    );
    let first = s.claim_outbox(3, 10).expect("claim");
    assert_eq!(
        first[0].id, ids[0],
        "queued behind the contact's earlier rows"
    );
    s.settle_outbox(ids[0], done(), 4).expect("done");
    assert_eq!(
        s.claim_outbox(4, 10).expect("claim")[0].id,
        extra.expect("id")
    );
    // An idle contact's enqueued item is its head right away.
    s.enqueue("z", text("z", 1), "z:1", 5).expect("z");
    assert_eq!(claim_ids(s.as_ref(), 5), [("z".into(), "m1".into())]);
}

fn read_side_reports(make: Make) {
    let s = make();
    assert!(s.schema_version().expect("version") >= 1);
    s.ingest(
        IngestBatch {
            messages: vec![msg("w1", "a")],
            ..Default::default()
        },
        1,
    )
    .expect("ingest");
    let ids = s.apply_step(step("a", &[1]), 2).expect("a").outbox_ids;
    s.claim_outbox(2, 10).expect("claim");
    s.settle_outbox(
        ids[0],
        Settlement::Done {
            wamid: Some("wamid.9".into()),
            history: Some("{\"type\":\"text\",\"body\":\"reply 1\"}".into()),
        },
        3,
    )
    .expect("done");
    let history = s.history("a").expect("history");
    assert_eq!(
        history
            .iter()
            .map(|h| h.direction.as_str())
            .collect::<Vec<_>>(),
        ["in", "out"]
    );
    assert_eq!(history[1].status.as_deref(), Some("accepted"));
    assert_eq!(s.audit("a").expect("audit")[0].script_hash, "sha256:abc");
    let counts = s.outbox_counts().expect("counts");
    assert_eq!((counts.pending, counts.inflight, counts.dead), (0, 0, 0));
}

fn revision(hash: &str, message: &str) -> NewRevision {
    NewRevision {
        hash: hash.into(),
        name: "desk.flow".into(),
        source: format!("// {hash}"),
        author: "ana".into(),
        message: message.into(),
        checked: "clean".into(),
    }
}

fn revisions_are_immutable_and_one_is_active(make: Make) {
    let s = make();
    assert_eq!(s.active_revision().expect("active"), None);
    assert!(s.revisions().expect("list").is_empty());

    let r1 = s
        .publish_revision(revision("sha256:a", "first"), 1_000)
        .expect("publish");
    assert_eq!((r1.id, r1.active, r1.created_ms), (1, true, 1_000));
    assert_eq!(r1.source, "// sha256:a");
    let r2 = s
        .publish_revision(revision("sha256:b", "second"), 2_000)
        .expect("publish");
    assert!(r2.id > r1.id && r2.active);
    let active = s.active_revision().expect("active").expect("one is active");
    assert_eq!(active.hash, "sha256:b");

    // Publishing known content again stores nothing new: that revision becomes active,
    // keeping its first message and time.
    let again = s
        .publish_revision(revision("sha256:a", "once more"), 3_000)
        .expect("publish");
    assert_eq!(
        (again.id, again.message.as_str(), again.created_ms),
        (r1.id, "first", 1_000)
    );
    assert!(again.active);
    let listed = s.revisions().expect("list");
    assert_eq!(
        listed.iter().map(|r| (r.id, r.active)).collect::<Vec<_>>(),
        vec![(r2.id, false), (r1.id, true)],
        "newest first, exactly one active"
    );

    // Rollback to a known revision; an unknown one is a NotFound and changes nothing.
    let back = s.activate_revision(r2.id, 4_000).expect("activate");
    assert_eq!(back.hash, "sha256:b");
    assert!(matches!(
        s.activate_revision(99, 5_000),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        s.active_revision().expect("active").map(|r| r.id),
        Some(r2.id)
    );
}

fn inbound_runs_once_and_the_backlog_counts_it(make: Make) {
    let s = make();
    let first = IngestBatch {
        messages: vec![msg("w1", "a"), msg("w2", "b")],
        ..Default::default()
    };
    let seqs: Vec<i64> = s
        .ingest(first, 1_000)
        .expect("ingest")
        .new_messages
        .iter()
        .map(|r| r.seq)
        .collect();
    let later = IngestBatch {
        messages: vec![msg("w3", "a")],
        ..Default::default()
    };
    s.ingest(later, 2_000).expect("ingest");
    assert_eq!(
        s.inbound_backlog().expect("backlog"),
        Backlog {
            messages: 3,
            oldest_ms: Some(1_000)
        }
    );
    let due: Vec<String> = s
        .unprocessed_inbound(1_500, 10)
        .expect("sweep")
        .into_iter()
        .map(|r| r.wamid)
        .collect();
    assert_eq!(
        due,
        ["w1", "w2"],
        "only what was stored before the bound, oldest first"
    );
    assert_eq!(s.unprocessed_inbound(2_000, 1).expect("sweep").len(), 1);
    let mut w = step("a", &[1]);
    w.inbound_seq = Some(seqs[0]);
    s.apply_step(w, 3_000).expect("first step");
    let mut again = step("a", &[2]);
    again.inbound_seq = Some(seqs[0]);
    assert!(
        matches!(s.apply_step(again, 3_001), Err(StoreError::Conflict(_))),
        "a message handed over twice is processed once"
    );
    assert_eq!(
        s.outbox_counts().expect("counts").pending,
        1,
        "the refused step stored nothing"
    );
    assert_eq!(s.inbound_counts().expect("counts"), (3, 1));
    let left = s.inbound_backlog().expect("backlog");
    assert_eq!(left.messages, 2);
    let swept: Vec<String> = s
        .unprocessed_inbound(5_000, 10)
        .expect("sweep")
        .into_iter()
        .map(|r| r.wamid)
        .collect();
    assert_eq!(swept, ["w2", "w3"]);
}

fn agent(email: &str, teams: &[&str]) -> AgentAccount {
    AgentAccount {
        email: email.into(),
        name: format!("Agent {email}"),
        teams: teams.iter().map(|t| t.to_string()).collect(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_ms: 1_000,
    }
}

fn session(id: &str, user: &str, at: i64) -> ConsoleSession {
    ConsoleSession {
        id_hash: id.into(),
        user: user.into(),
        csrf: format!("csrf-{id}"),
        created_ms: at,
        seen_ms: at,
    }
}

fn console_accounts_and_sessions(make: Make) {
    let s = make();
    assert!(s.add_agent(agent("ana@x.com", &["billing"])).expect("add"));
    assert!(
        !s.add_agent(agent("ana@x.com", &["support"]))
            .expect("add twice"),
        "an existing e-mail is not replaced"
    );
    assert!(
        s.add_agent(agent("bo@x.com", &["support", "billing"]))
            .expect("add")
    );
    let ana = s.agent("ana@x.com").expect("read").expect("ana exists");
    assert_eq!(ana.teams, vec!["billing".to_string()]);
    assert_eq!(ana.name, "Agent ana@x.com");
    assert_eq!(s.agent("nobody@x.com").expect("read"), None);
    let all: Vec<String> = s
        .agents()
        .expect("list")
        .into_iter()
        .map(|a| a.email)
        .collect();
    assert_eq!(all, vec!["ana@x.com".to_string(), "bo@x.com".to_string()]);

    // Sessions: found while used, gone when idle too long, too old, deleted, or when
    // their agent is removed.
    let (idle, max) = (1_000, 10_000);
    s.create_session(session("h1", "ana@x.com", 0))
        .expect("session");
    s.create_session(session("h2", "bo@x.com", 0))
        .expect("session");
    s.create_session(session("h3", "manager", 0))
        .expect("session");
    let got = s
        .touch_session("h1", 500, idle, max)
        .expect("touch")
        .expect("alive");
    assert_eq!(
        (got.user.as_str(), got.csrf.as_str()),
        ("ana@x.com", "csrf-h1")
    );
    assert_eq!(
        s.touch_session("nope", 500, idle, max).expect("touch"),
        None
    );
    assert_eq!(
        s.touch_session("h2", 1_500, idle, max).expect("touch"),
        None,
        "idle for longer than allowed"
    );
    assert_eq!(
        s.touch_session("h2", 0, idle, max).expect("touch"),
        None,
        "an expired session is deleted"
    );
    s.delete_session("h3").expect("delete");
    assert_eq!(s.touch_session("h3", 100, idle, max).expect("touch"), None);
    assert!(s.remove_agent("ana@x.com").expect("remove"));
    assert!(!s.remove_agent("ana@x.com").expect("remove twice"));
    assert_eq!(
        s.touch_session("h1", 600, idle, max).expect("touch"),
        None,
        "removing an agent ends their sessions"
    );
    assert_eq!(s.agent("ana@x.com").expect("read"), None);
    // Use refreshes the idle clock (to the minute); age ends a session anyway.
    s.create_session(session("h4", "bo@x.com", 0))
        .expect("session");
    let (idle, max) = (90_000, 200_000);
    assert!(
        s.touch_session("h4", 80_000, idle, max)
            .expect("touch")
            .is_some()
    );
    assert!(
        s.touch_session("h4", 160_000, idle, max)
            .expect("touch")
            .is_some(),
        "the use at 80 s counted"
    );
    assert_eq!(
        s.touch_session("h4", 210_000, 1_000_000, max)
            .expect("touch"),
        None
    );
    s.create_session(session("h5", "bo@x.com", 0))
        .expect("session");
    s.create_session(session("h6", "bo@x.com", 5_000))
        .expect("session");
    assert_eq!(s.expire_sessions(6_000, 3_000, 100_000).expect("expire"), 1);
    assert!(
        s.touch_session("h6", 6_000, 3_000, 100_000)
            .expect("touch")
            .is_some()
    );
}

fn audit_keeps_the_actor(make: Make) {
    let s = make();
    let mut w = step("5511", &[]);
    w.actor = Some("ana@x.com".into());
    s.apply_step(w, 10).expect("step");
    s.apply_step(step("5511", &[]), 20).expect("step");
    let actors: Vec<Option<String>> = s
        .audit("5511")
        .expect("audit")
        .into_iter()
        .map(|a| a.actor)
        .collect();
    assert_eq!(actors, vec![Some("ana@x.com".to_string()), None]);
}
