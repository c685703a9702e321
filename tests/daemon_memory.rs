//! Peak memory of the daemon over many idle contacts, by hand:
//!
//! ```sh
//! WAFL_MEMORY_CONTACTS=1000000 WAFL_MEMORY_MESSAGES=2000 \
//!   cargo test --test daemon_memory -- --ignored --nocapture
//! ```
//!
//! Builds a SQLite database with that many conversations (each with its stored state and
//! one processed message), starts the daemon on it in this process, sends
//! `WAFL_MEMORY_MESSAGES` (default 20,000) messages from contacts spread over all of
//! them, waits until they are processed, and prints the resident memory after start and
//! its peak (`VmHWM`, reset after the database is built). The process also holds the
//! fake Graph API, which keeps every request it answered.

#[path = "support/fake.rs"]
mod fake;

use std::time::{Duration, Instant};
use wafl::daemon::store::persisted::ConversationBody;
use wafl::daemon::{self, config};
use wafl::engine::{self, Contact, Event, Inbound, InboundMessage, State};

const SECRET: &str = "memory-secret";
const SCRIPT: &str = "flow \"Memory\" { timezone \"UTC\" }\nteam billing { agents \"a@x.com\" }\nstage triage {\n  on keyword \"fatura\" { route billing; reply \"Billing: {message.text}\" }\n  on keyword \"bye\" { close \"done\" }\n  otherwise { reply \"Hello\" }\n}\n";

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn contact(i: u64) -> String {
    format!("55119{:08}", i)
}

#[test]
#[ignore = "run by hand: builds a large database (WAFL_MEMORY_CONTACTS, default 100000)"]
fn peak_memory_with_many_idle_contacts() {
    let n: u64 = std::env::var("WAFL_MEMORY_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("wafl-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("memory.flow");
    std::fs::write(&script, SCRIPT).expect("script");
    let loaded = daemon::load_script(&script).expect("script checks");
    let db = dir.join("wafl.db");
    let built = Instant::now();
    {
        // The schema, then the contacts in bulk with a real stored state.
        drop(wafl::daemon::store::sqlite::SqliteStore::open(&db).expect("open"));
        let now = jiff::Timestamp::from_second(1_700_000_000).expect("time");
        let event = Event::Inbound(Inbound {
            profile_name: Some("Ana".into()),
            message: InboundMessage::Text("fatura 1".into()),
        });
        let mut c = rusqlite::Connection::open(&db).expect("bulk connection");
        let tx = c.transaction().expect("tx");
        {
            let mut conv = tx
                .prepare("INSERT INTO conversations (contact, state, stage, updated_ms, program_hash) VALUES (?1, ?2, 'triage', 0, ?3)")
                .expect("prepare");
            let mut inb = tx
                .prepare("INSERT INTO inbound (wamid, contact, received_ms, payload, processed) VALUES (?1, ?2, 0, '{}', 1)")
                .expect("prepare");
            // One real state, with each contact's number in it.
            let first = contact(0);
            let state = engine::step(
                &loaded.program,
                &State::new(Contact::new(format!("+{first}"))),
                &event,
                now,
            )
            .state;
            let body = ConversationBody::encode(&state, &loaded.program, &loaded.hash)
                .expect("encode")
                .to_json();
            for i in 0..n {
                let who = contact(i);
                conv.execute(rusqlite::params![
                    who,
                    body.replace(&first, &who),
                    loaded.hash
                ])
                .expect("conversation");
                inb.execute(rusqlite::params![format!("wamid.old{i}"), who])
                    .expect("inbound");
            }
        }
        tx.commit().expect("commit");
    }
    eprintln!(
        "built {n} contacts in {:.1} s ({:.0} MB on disk)",
        built.elapsed().as_secs_f64(),
        std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
    );
    // Peak memory from here on.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let graph = fake::start().await;
        let graph_url = graph.url();
        let db_text = db.display().to_string();
        let env = move |k: &str| -> Option<String> {
            match k {
                "WAFL_ACCESS_TOKEN" => Some("t".into()),
                "WAFL_PHONE_NUMBER_ID" => Some("PNID".into()),
                "WAFL_APP_SECRET" => Some(SECRET.into()),
                "WAFL_GRAPH_URL" => Some(graph_url.clone()),
                "WAFL_DATABASE" => Some(db_text.clone()),
                _ => None,
            }
        };
        let file = config::parse_file("wafl.toml", "[whatsapp]\nsend_rate = 1000\n").expect("toml");
        let cfg = config::resolve(file, &env, Some("127.0.0.1:0"), &[]).expect("config");
        let (shared, listener) = daemon::start(cfg, loaded).await.expect("daemon starts");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(daemon::http::serve(shared.clone(), listener));
        let idle_kb = status_kb("VmRSS:");
        let messages: u64 = std::env::var("WAFL_MEMORY_MESSAGES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for t in 0..32u64 {
            let (client, base) = (client.clone(), base.clone());
            tasks.push(tokio::spawn(async move {
                let mut k = t;
                while k < messages {
                    // Spread over every contact.
                    let who = contact(k.wrapping_mul(2_654_435_761) % n);
                    let body = format!(
                        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"W","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1","phone_number_id":"PNID"}},"contacts":[],"messages":[{{"from":"{who}","id":"wamid.mem{k}","timestamp":"1700000000","type":"text","text":{{"body":"fatura {k}"}}}}]}}}}]}}]}}"#
                    );
                    let sig = wafl::daemon::wire::inbound::sign(SECRET.as_bytes(), body.as_bytes());
                    let r = client
                        .post(format!("{base}/webhook"))
                        .header("x-hub-signature-256", sig)
                        .body(body)
                        .send()
                        .await
                        .expect("post");
                    if r.status() == 200 {
                        k += 32;
                    } else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("sender");
        }
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let (all, done) = shared
                .db
                .run(|s| s.inbound_counts())
                .await
                .expect("counts");
            if all == done || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "{n} contacts: RSS {:.0} MB idle after start, peak {:.0} MB over {messages} messages to contacts spread over all of them",
            idle_kb as f64 / 1024.0,
            status_kb("VmHWM:") as f64 / 1024.0
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}
