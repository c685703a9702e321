//! The PostgreSQL store against a real server (see tests/support/pg.rs for which one and
//! when these tests skip): migrations, the pool's limits, and the store's contract.

#[path = "support/pg.rs"]
mod pg;
#[path = "support/store_conformance.rs"]
mod store_conformance;

use std::time::Duration;

use serde_json::json;
use wafl::daemon::outbox::item::OutboxItem;
use wafl::daemon::store::persisted::ConversationBody;
use wafl::daemon::store::postgres::conn::{self, ConnError, DatabaseUrl, PoolOptions};
use wafl::daemon::store::postgres::{PgOptions, PgStore};
use wafl::daemon::store::{
    IngestBatch, NewInbound, NewOutbox, OutboxCounts, Settlement, StepWrite, Store, StoreError,
    TimerRow,
};

fn options(schema: &pg::TestSchema) -> PoolOptions {
    PoolOptions {
        max_size: 4,
        schema: Some(schema.name.clone()),
        ..PoolOptions::default()
    }
}

#[test]
fn postgres_conforms_to_the_store_contract() {
    let Some(schema) = pg::schema("conformance") else {
        return;
    };
    let url = DatabaseUrl::parse(&schema.url).expect("test URL parses");
    let n = std::sync::atomic::AtomicUsize::new(0);
    let mut c = schema.admin();
    store_conformance::run_all(&|| -> Box<dyn Store> {
        // A fresh schema per case, named after the test's own.
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{}_{i}", schema.name);
        let opts = PgOptions {
            pool: PoolOptions {
                max_size: 4,
                schema: Some(name),
                ..PoolOptions::default()
            },
            ..PgOptions::default()
        };
        Box::new(PgStore::open(&url, opts).expect("opens"))
    });
    let rows = c
        .query(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1",
            &[&format!("{}\\_%", schema.name)],
        )
        .expect("lists");
    for r in rows {
        let name: String = r.get(0);
        let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
    }
}

#[test]
fn migrations_run_once_even_when_daemons_start_together() {
    let Some(schema) = pg::schema("migrations_once") else {
        return;
    };
    let url = DatabaseUrl::parse(&schema.url).expect("test URL parses");
    let opts = options(&schema);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, opts) = (url.clone(), opts.clone());
            std::thread::spawn(move || conn::open(&url, &opts).map(|_| ()))
        })
        .collect();
    for h in handles {
        h.join().expect("no panic").expect("every daemon starts");
    }
    let mut c = schema.client();
    let rows = c
        .query(
            "SELECT version, name FROM wafl_schema ORDER BY version",
            &[],
        )
        .expect("wafl_schema readable");
    let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let want: Vec<(i32, String)> = conn::MIGRATIONS
        .iter()
        .map(|m| (m.version, m.name.to_owned()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_database_migrated_by_a_newer_wafl_is_refused() {
    let Some(schema) = pg::schema("too_new") else {
        return;
    };
    let url = DatabaseUrl::parse(&schema.url).expect("test URL parses");
    let opts = options(&schema);
    conn::open(&url, &opts).expect("first start");
    schema
        .client()
        .execute(
            "INSERT INTO wafl_schema (version, name) VALUES (9999, '9999_future')",
            &[],
        )
        .expect("insert");
    match conn::open(&url, &opts) {
        Err(ConnError::TooNew { found: 9999, .. }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a newer schema was accepted"),
    }
}

#[test]
fn statements_longer_than_the_timeout_are_cancelled() {
    let Some(schema) = pg::schema("statement_timeout") else {
        return;
    };
    let url = DatabaseUrl::parse(&schema.url).expect("test URL parses");
    let opts = PoolOptions {
        statement_timeout: Duration::from_millis(200),
        ..options(&schema)
    };
    let pool = conn::open(&url, &opts).expect("opens");
    let mut c = pool.get().expect("a connection");
    let err = c
        .batch_execute("SELECT pg_sleep(5)")
        .expect_err("cancelled by the timeout");
    assert_eq!(
        err.code(),
        Some(&postgres::error::SqlState::QUERY_CANCELED),
        "{err}"
    );
    let timeout: String = c
        .query_one("SHOW statement_timeout", &[])
        .expect("show")
        .get(0);
    assert_eq!(timeout, "200ms");
}

#[test]
fn an_unreachable_server_is_a_clear_error_naming_it_without_the_password() {
    let url = DatabaseUrl::parse("postgres://wafl:hunter2@127.0.0.1:1/wafl").expect("parses");
    let opts = PoolOptions {
        connect_timeout: Duration::from_millis(500),
        ..PoolOptions::default()
    };
    let err = conn::open(&url, &opts).expect_err("nothing listens on port 1");
    let text = err.to_string();
    assert!(
        text.contains("cannot connect to postgres://wafl@127.0.0.1:1/wafl"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

// ---- several instances on one database ---------------------------------------------

/// Two stores on one schema, as two `wafl run` processes would have.
fn two_instances(schema: &pg::TestSchema) -> (PgStore, PgStore) {
    let url = DatabaseUrl::parse(&schema.url).expect("test URL parses");
    let open = |name: &str| {
        PgStore::open(
            &url,
            PgOptions {
                pool: options(schema),
                instance: name.into(),
                outbox_lease_ms: 60_000,
                inbound_lease_ms: 30_000,
            },
        )
        .expect("opens")
    };
    (open("a"), open("b"))
}

fn body(marker: &str) -> ConversationBody {
    ConversationBody {
        version: 2,
        program: "p1".into(),
        state: json!({ "marker": marker }),
    }
}

fn step(contact: &str, marker: &str) -> StepWrite {
    StepWrite::new(contact, body(marker), "p1")
}

fn text(to: &str, n: usize) -> OutboxItem {
    OutboxItem::Webhook {
        webhook: "crm".into(),
        url: format!("http://127.0.0.1:9/{to}/{n}"),
        body: json!({ "n": n }),
        call_id: None,
        timeout_secs: None,
    }
}

fn message(wamid: &str, contact: &str) -> NewInbound {
    NewInbound {
        wamid: wamid.into(),
        contact: contact.into(),
        payload: format!("{{\"id\":\"{wamid}\"}}"),
    }
}

fn marker_of(store: &PgStore, contact: &str) -> String {
    let c = store.conversation(contact).expect("reads").expect("exists");
    c.body.state["marker"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_stalled_instances_late_step_changes_nothing() {
    let Some(schema) = pg::schema("late_step") else {
        return;
    };
    let (a, b) = two_instances(&schema);
    assert!(a.conversation("c1").expect("reads").is_none());
    assert!(b.conversation("c1").expect("reads").is_none());
    b.apply_step(step("c1", "from b"), 1)
        .expect("b commits first");
    // `a` computed its step from the state before b's: its commit is refused whole.
    let mut late = step("c1", "from a");
    late.outbox.push(NewOutbox {
        contact: "c1".into(),
        item: text("c1", 1),
        idem_key: "late".into(),
    });
    match a.apply_step(late, 2) {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a late step was not refused: {other:?}"),
    }
    assert_eq!(marker_of(&a, "c1"), "from b");
    assert_eq!(a.outbox_counts().expect("counts"), OutboxCounts::default());
    // Having read again, `a` steps on the current version.
    a.apply_step(step("c1", "a again"), 3)
        .expect("a commits after reading");
    assert_eq!(marker_of(&b, "c1"), "a again");
}

#[test]
fn each_inbound_message_is_processed_by_one_instance_only() {
    let Some(schema) = pg::schema("inbound_once") else {
        return;
    };
    let (a, b) = two_instances(&schema);
    let batch = IngestBatch {
        messages: vec![message("w1", "c1")],
        ..IngestBatch::default()
    };
    let seq = a.ingest(batch.clone(), 1).expect("stores").new_messages[0].seq;
    // WhatsApp redelivers the same webhook to the other instance: a duplicate.
    let again = b.ingest(batch, 2).expect("stores");
    assert_eq!((again.new_messages.len(), again.duplicate_messages), (0, 1));
    a.conversation("c1").expect("reads");
    b.conversation("c1").expect("reads");
    let mut sa = step("c1", "a");
    sa.inbound_seq = Some(seq);
    let mut sb = step("c1", "b");
    sb.inbound_seq = Some(seq);
    a.apply_step(sa, 3).expect("first consumer");
    assert!(matches!(b.apply_step(sb, 4), Err(StoreError::Conflict(_))));
    assert_eq!(a.inbound_counts().expect("counts"), (1, 1));
    assert_eq!(a.audit("c1").expect("audit").len(), 1);
}

#[test]
fn a_contacts_messages_are_processed_in_order_across_instances() {
    let Some(schema) = pg::schema("inbound_order") else {
        return;
    };
    let (a, b) = two_instances(&schema);
    let s1 = a
        .ingest(
            IngestBatch {
                messages: vec![message("w1", "c1")],
                ..Default::default()
            },
            1,
        )
        .expect("a");
    let s2 = b
        .ingest(
            IngestBatch {
                messages: vec![message("w2", "c1")],
                ..Default::default()
            },
            2,
        )
        .expect("b");
    let (s1, s2) = (s1.new_messages[0].seq, s2.new_messages[0].seq);
    b.conversation("c1").expect("reads");
    let mut second = step("c1", "second");
    second.inbound_seq = Some(s2);
    assert!(
        matches!(b.apply_step(second, 3), Err(StoreError::Conflict(_))),
        "the second went first"
    );
    a.conversation("c1").expect("reads");
    let mut first = step("c1", "first");
    first.inbound_seq = Some(s1);
    a.apply_step(first, 4).expect("the first message");
    // The refused message was let go: any instance takes it now, none of the contact's
    // messages being held.
    let claimed = a.claim_inbound(5, 10).expect("claims");
    assert_eq!(claimed.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![s2]);
    a.conversation("c1").expect("reads");
    let mut second = step("c1", "second");
    second.inbound_seq = Some(s2);
    a.apply_step(second, 6).expect("now in order");
    assert_eq!(marker_of(&b, "c1"), "second");
}

#[test]
fn the_messages_of_a_dead_instance_go_to_another_when_its_lease_ends() {
    let Some(schema) = pg::schema("inbound_takeover") else {
        return;
    };
    let (a, b) = two_instances(&schema);
    let batch = IngestBatch {
        messages: vec![message("w1", "c1"), message("w2", "c2")],
        ..Default::default()
    };
    a.ingest(batch, 1_000).expect("stores");
    // `a` dies before processing them: held until its lease (30 s) ends.
    assert!(
        b.claim_inbound(1_000 + 29_999, 10)
            .expect("claims")
            .is_empty()
    );
    let got = b.claim_inbound(1_000 + 30_000, 10).expect("claims");
    assert_eq!(
        got.iter().map(|r| r.wamid.as_str()).collect::<Vec<_>>(),
        ["w1", "w2"]
    );
    // Claimed once: a third instance finds nothing.
    assert!(
        a.claim_inbound(1_000 + 30_001, 10)
            .expect("claims")
            .is_empty()
    );
}

#[test]
fn outbox_heads_are_claimed_once_across_instances_and_in_contact_order() {
    let Some(schema) = pg::schema("outbox_claims") else {
        return;
    };
    let (a, b) = two_instances(&schema);
    let contacts: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    for c in &contacts {
        for n in 0..3 {
            a.enqueue(c, text(c, n), &format!("{c}:{n}"), 1)
                .expect("queues");
        }
    }
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    // Both instances send at once until every row is done; each records what it sent.
    let run = |s: std::sync::Arc<PgStore>| {
        std::thread::spawn(move || {
            let mut sent = Vec::new();
            for round in 0..200 {
                let rows = s.claim_outbox(10 + round, 7).expect("claims");
                if rows.is_empty() && s.outbox_counts().expect("counts").pending == 0 {
                    break;
                }
                for r in rows {
                    sent.push((r.contact.clone(), r.idem_key.clone()));
                    s.settle_outbox(
                        r.id,
                        Settlement::Done {
                            wamid: None,
                            history: None,
                        },
                        10 + round,
                    )
                    .expect("settles");
                }
            }
            sent
        })
    };
    let (ha, hb) = (run(a.clone()), run(b.clone()));
    let (sa, sb) = (ha.join().expect("a"), hb.join().expect("b"));
    let mut all: Vec<_> = sa.iter().chain(sb.iter()).cloned().collect();
    assert_eq!(all.len(), 120, "every row sent exactly once");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 120, "no row sent twice");
    // Per contact, each instance saw that contact's rows in queue order, and since the
    // next row is claimable only after the previous one is settled, the global order
    // holds too: check it through the settle order kept in the database.
    let mut c = schema.client();
    for contact in &contacts {
        let keys: Vec<String> = c
            .query(
                "SELECT idem_key FROM outbox WHERE contact = $1 AND state = 'done' ORDER BY id",
                &[contact],
            )
            .expect("reads")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            keys,
            (0..3).map(|n| format!("{contact}:{n}")).collect::<Vec<_>>()
        );
    }
    assert_eq!(a.outbox_counts().expect("counts"), OutboxCounts::default());
}

#[test]
fn a_dead_instances_send_is_taken_over_and_its_late_answer_ignored() {
    let Some(schema) = pg::schema("outbox_takeover") else {
        return;
    };
    let (a, b) = two_instances(&schema);
    a.enqueue("c1", text("c1", 0), "c1:0", 0).expect("queues");
    a.enqueue("c1", text("c1", 1), "c1:1", 0).expect("queues");
    let first = a.claim_outbox(1_000, 10).expect("claims");
    assert_eq!(first.len(), 1);
    // Held by `a` until its lease (60 s) ends; the contact's next row waits behind it.
    assert!(b.claim_outbox(60_999, 10).expect("claims").is_empty());
    let again = b.claim_outbox(61_000, 10).expect("claims");
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].id, again[0].idem_key.as_str(), again[0].attempts),
        (first[0].id, "c1:0", 2)
    );
    // `a` wakes up and reports a failure: too late, `b` holds the row now.
    a.settle_outbox(
        first[0].id,
        Settlement::Retry {
            next_ms: 61_001,
            error: "timeout".into(),
        },
        61_001,
    )
    .expect("ignored");
    assert_eq!(a.outbox_counts().expect("counts").inflight, 1);
    b.settle_outbox(
        again[0].id,
        Settlement::Done {
            wamid: Some("wamid.1".into()),
            history: None,
        },
        61_002,
    )
    .expect("settles");
    let next = a.claim_outbox(61_003, 10).expect("claims");
    assert_eq!(
        next.iter().map(|r| r.idem_key.as_str()).collect::<Vec<_>>(),
        ["c1:1"]
    );
}

#[test]
fn due_timers_are_claimed_by_one_instance_until_the_lease_ends() {
    let Some(schema) = pg::schema("timer_claims") else {
        return;
    };
    let (a, b) = two_instances(&schema);
    let mut w = step("c1", "t");
    for i in 0..5 {
        w.timers_set.push(TimerRow {
            id: format!("c1|t{i}"),
            contact: "c1".into(),
            due_ms: 100 + i,
            timer: format!("t{i}"),
        });
    }
    a.conversation("c1").expect("reads");
    a.apply_step(w, 1).expect("sets timers");
    let ta = a.claim_due_timers(200, 5_000, 3).expect("claims");
    let tb = b.claim_due_timers(200, 5_000, 10).expect("claims");
    assert_eq!((ta.len(), tb.len()), (3, 2));
    assert!(ta.iter().all(|t| tb.iter().all(|u| u.id != t.id)));
    assert!(
        b.claim_due_timers(5_199, 5_000, 10)
            .expect("claims")
            .is_empty()
    );
    assert_eq!(
        b.claim_due_timers(5_200, 5_000, 10).expect("claims").len(),
        5
    );
}
