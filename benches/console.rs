//! The console's board and card with 10,000 open cards in a SQLite store: what the
//! `GET /api/board` and `GET /api/cards/{phone}` handlers do (read the stored
//! conversations, build the typed records, filter by visibility, serialise the JSON),
//! without the HTTP framing. Target: each well under 200 ms.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;
use wafl::daemon::console::api::{self, Filters};
use wafl::daemon::console::auth::{Role, User};
use wafl::daemon::console::model::{self, Conversation};
use wafl::daemon::store::persisted::ConversationBody;
use wafl::daemon::store::sqlite::SqliteStore;
use wafl::daemon::store::{IngestBatch, NewInbound, StepWrite, Store};
use wafl::engine::{self, Contact, Event, Inbound, State};

const CARDS: usize = 10_000;

const SCRIPT: &str = r#"
flow "Bench" { timezone "UTC" }
team billing { agents "ana@x.com" }
team support { agents "bo@x.com" }
template order_ready "order_ready" lang "en_US" with name, order
field order: text
stage triage {
  on keyword "bill" { route billing; tag "vip"; goto desk }
  on keyword "help" { route support; goto desk }
  otherwise { reply "Say bill or help." }
}
stage desk {
  on keyword "bye" { close "done" }
  on keyword "later" { goto later }
  after 10m silence { reply "Still there?" }
  otherwise { reply "desk: {message.text}" }
}
stage later {
  on keyword "bye" { close "done" }
  otherwise { ignore }
}
"#;

struct Seeded {
    store: Arc<dyn Store>,
    loaded: wafl::daemon::Loaded,
    _dir: std::path::PathBuf,
}

fn seed() -> Seeded {
    let dir = std::env::temp_dir().join(format!("wafl-bench-console-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = dir.join("bench.flow");
    std::fs::write(&script, SCRIPT).expect("script");
    let loaded = wafl::daemon::load_script(&script).expect("script checks");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("wafl.db")).expect("store"));
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2);
    let words = ["hello", "bill", "help", "anyone?", "my order is late"];
    // Eight writers at once: the store commits their steps in groups.
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (store, loaded) = (&store, &loaded);
            scope.spawn(move || {
                for i in (t..CARDS).step_by(8) {
                    let key = format!("55119{i:08}");
                    let mut state = State::new(Contact::new(format!("+{key}")));
                    let mut now = start + jiff::SignedDuration::from_secs(i as i64 % 3600);
                    // A few messages each: every card is open, most routed to a team.
                    for (n, w) in words.iter().enumerate().take(2 + i % 3) {
                        let w = if n == 1 && i % 2 == 1 { "help" } else { *w };
                        let event = Event::Inbound(Inbound::text(w));
                        state = engine::step(&loaded.program, &state, &event, now).state;
                        now += jiff::SignedDuration::from_secs(30);
                    }
                    let body = ConversationBody::encode(&state, &loaded.program, &loaded.hash)
                        .expect("encode");
                    let mut w = StepWrite::new(&key, body, &loaded.hash);
                    w.stage = state.card.as_ref().map(|c| c.stage.clone());
                    store.apply_step(w, now.as_millisecond()).expect("seed");
                }
            });
        }
    });
    // One card with a long story: 40 messages in, 40 steps audited.
    let key = "5511800000001".to_string();
    let mut state = State::new(Contact::new(format!("+{key}")));
    for n in 0..40 {
        let now = start + jiff::SignedDuration::from_secs(60 * n);
        let text = if n == 1 {
            "bill".to_string()
        } else {
            format!("message {n}")
        };
        let payload = json!({"id": format!("w{n}"), "from": key, "profile_name": "Ana", "timestamp": now.as_second(), "phone_number_id": "P", "context_id": null, "content": {"Text": text}}).to_string();
        store
            .ingest(
                IngestBatch {
                    messages: vec![NewInbound {
                        wamid: format!("w{n}"),
                        contact: key.clone(),
                        payload,
                    }],
                    ..IngestBatch::default()
                },
                now.as_millisecond(),
            )
            .expect("ingest");
        let event = Event::Inbound(Inbound::text(text));
        let out = engine::step(&loaded.program, &state, &event, now);
        state = out.state;
        let body = ConversationBody::encode(&state, &loaded.program, &loaded.hash).expect("encode");
        let mut w = StepWrite::new(&key, body, &loaded.hash);
        w.stage = state.card.as_ref().map(|c| c.stage.clone());
        w.audit_event = serde_json::to_string(&event).expect("event");
        w.audit_effects = serde_json::to_string(&out.effects).expect("effects");
        store.apply_step(w, now.as_millisecond()).expect("step");
    }
    Seeded {
        store,
        loaded,
        _dir: dir,
    }
}

fn board(s: &Seeded, user: &User) -> String {
    let rows = s.store.conversations(None).expect("conversations");
    let cards = api::visible_open(rows.iter(), user);
    let f = Filters {
        limit: 200,
        ..Filters::default()
    };
    api::board_json(&s.loaded.program, cards, &f, 0).to_string()
}

fn card(s: &Seeded, key: &str) -> String {
    let stored = s.store.conversation(key).expect("read").expect("exists");
    let history = s.store.history(key).expect("history");
    let audit = s.store.audit(key).expect("audit");
    let conv = Conversation::of(&stored).expect("state");
    let detail =
        model::detail(&conv, &history, &audit, &s.loaded, jiff::Timestamp::now()).expect("card");
    serde_json::to_string(&detail).expect("json")
}

fn benches(c: &mut Criterion) {
    let s = seed();
    let manager = User {
        id: "manager".into(),
        name: "Manager".into(),
        role: Role::Manager,
        teams: vec![],
    };
    let ana = User {
        id: "ana@x.com".into(),
        name: "Ana".into(),
        role: Role::Agent,
        teams: vec!["billing".into()],
    };
    // What the board shows: every card open, the count per stage.
    let sample: serde_json::Value = serde_json::from_str(&board(&s, &manager)).expect("json");
    let counted: u64 = sample["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter_map(|st| st["count"].as_u64())
        .sum();
    assert_eq!(
        counted as usize,
        CARDS + 1,
        "every seeded card is on the board"
    );
    let mut g = c.benchmark_group("console");
    g.sample_size(20);
    g.bench_function("board_10k_manager", |b| {
        b.iter(|| black_box(board(&s, &manager)))
    });
    g.bench_function("board_10k_agent", |b| b.iter(|| black_box(board(&s, &ana))));
    g.bench_function("card_40_steps", |b| {
        b.iter(|| black_box(card(&s, "5511800000001")))
    });
    g.finish();
}

criterion_group!(console, benches);
criterion_main!(console);
