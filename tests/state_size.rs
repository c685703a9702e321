//! A conversation's stored state has the same size however long the conversation: the
//! card keeps only its recent history (the daemon's storage keeps all of it).

use wafl::daemon::store::persisted::ConversationBody;
use wafl::engine::{self, Contact, Event, Inbound, InboundMessage, State};

const SCRIPT: &str = r#"
flow "Size" { timezone "UTC" }
team billing { agents "a@x.com" }
stage triage {
  on keyword "fatura", "boleto" { route billing; reply "Billing: {message.text}" }
  on keyword "bye" { close "done" }
  otherwise { reply "Hello, we read: {message.text}" }
}
"#;

fn stored_bytes(loaded: &wafl::daemon::Loaded, state: &State) -> usize {
    ConversationBody::encode(state, &loaded.program, &loaded.hash)
        .expect("encode")
        .to_json()
        .len()
}

#[test]
fn a_thousand_messages_of_one_contact_keep_the_stored_state_bounded() {
    let dir = std::env::temp_dir().join(format!("wafl-size-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("size.flow");
    std::fs::write(&path, SCRIPT).expect("script");
    let loaded = wafl::daemon::load_script(&path).expect("script checks");
    let mut state = State::new(Contact::new("+5511987654321"));
    let mut now = jiff::Timestamp::from_second(1_700_000_000).expect("time");
    let mut sizes = Vec::new();
    for i in 0..1_000 {
        // Long messages too: each line is cut, not only the number of lines.
        let text = if i % 10 == 0 {
            format!("fatura {i} {}", "x".repeat(3_000))
        } else {
            format!("message number {i} about my order")
        };
        let event = Event::Inbound(Inbound {
            profile_name: Some("Ana".into()),
            message: InboundMessage::Text(text),
        });
        state = engine::step(&loaded.program, &state, &event, now).state;
        now = now
            .checked_add(jiff::SignedDuration::from_secs(30))
            .expect("time");
        sizes.push(stored_bytes(&loaded, &state));
    }
    let card = state.card.as_ref().expect("the card stays open");
    assert_eq!(card.history.len(), engine::HISTORY_WINDOW);
    let max = sizes.iter().copied().max().unwrap_or(0);
    assert!(max < 24_000, "stored state reached {max} bytes");
    let after_100 = sizes[99..200].iter().copied().max().unwrap_or(0);
    let after_900 = sizes[899..].iter().copied().max().unwrap_or(0);
    assert!(
        after_900 <= after_100 + 64,
        "the state does not grow with the conversation: {after_100} bytes around message 100, {after_900} around message 1000"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
