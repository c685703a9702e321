//! A form through the daemon against the fake Graph API: `reply form` sends a flow
//! message with a fresh token, the `nfm_reply` completion is matched by token, checked
//! against the field rules, and fires `on form ... submitted`; unknown, reused and
//! foreign tokens and invalid values are refused and recorded.

#[path = "support/fake.rs"]
mod fake;
#[path = "support/flows.rs"]
mod flows;

use flows::{BOOKING, CUSTOMER};
use serde_json::{Value, json};

async fn wait_texts(d: &flows::Daemon, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let t = d.sent_texts();
        if t.len() >= n || std::time::Instant::now() > deadline {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits until `n` refusals are recorded.
async fn refusals(d: &flows::Daemon, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let rows = d.unknown_events("form_submission_refused").await;
        if rows.len() >= n || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn valid(token: &str) -> Value {
    json!({"flow_token": token, "day": "2030-01-02", "period": "afternoon", "guests": "3", "email": "ana@example.com"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_form_fires_its_handler_once() {
    let d = flows::start(BOOKING, "").await;
    let token = d.issue_token("wamid.b1").await;
    let form_msg = &d.graph.requests()[0].body;
    let params = &form_msg["interactive"]["action"]["parameters"];
    assert_eq!(params["flow_name"], "booking");
    assert_eq!(params["flow_action_payload"]["screen"], "WHEN");

    // The token is stored, bound to the contact, the form and the card.
    let t = token.clone();
    let row = d
        .shared
        .db
        .run(move |s| s.flow_token(&t))
        .await
        .expect("read")
        .expect("the token is stored");
    assert_eq!(row.contact, CUSTOMER);
    assert_eq!(row.form, "booking");
    assert!(row.card_id > 0);
    assert_eq!(row.used_ms, None);

    d.post_webhook(&flows::form_reply(CUSTOMER, "wamid.f1", &valid(&token)))
        .await;
    let texts = wait_texts(&d, 1).await;
    assert_eq!(
        texts,
        ["Booked Afternoon for 3, confirmation to ana@example.com"],
        "values are checked and normalised (the choice as declared, the number as a number)"
    );
    let t = token.clone();
    let row = d
        .shared
        .db
        .run(move |s| s.flow_token(&t))
        .await
        .expect("read")
        .expect("row");
    assert!(row.used_ms.is_some(), "the token is used");

    // The same token again, in a new message: refused, recorded, no handler.
    d.post_webhook(&flows::form_reply(CUSTOMER, "wamid.f2", &valid(&token)))
        .await;
    let rows = refusals(&d, 1).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["reason"], "reused_token");
    assert_eq!(rows[0]["flow_token"], token.as_str());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(d.sent_texts().len(), 1, "no second confirmation");
    assert!(
        d.shared
            .metrics
            .render()
            .contains("form_submissions_refused_total{reason=\"reused_token\"} 1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_foreign_tokens_are_refused() {
    let d = flows::start(BOOKING, "").await;
    let token = d.issue_token("wamid.b1").await;
    // A token nobody issued.
    d.post_webhook(&flows::form_reply(
        CUSTOMER,
        "wamid.f1",
        &valid("booking.0123456789abcdef"),
    ))
    .await;
    // A real token, submitted by another contact.
    d.post_webhook(&flows::form_reply(
        "5511900001111",
        "wamid.f2",
        &valid(&token),
    ))
    .await;
    // No token at all.
    d.post_webhook(&flows::form_reply(
        CUSTOMER,
        "wamid.f3",
        &json!({"day": "2030-01-02"}),
    ))
    .await;
    let rows = refusals(&d, 3).await;
    // Different contacts run on different shards: compare without order.
    let mut reasons: Vec<&str> = rows.iter().filter_map(|r| r["reason"].as_str()).collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["malformed", "unknown_token", "unknown_token"]);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        d.sent_texts().is_empty(),
        "no handler ran: {:?}",
        d.sent_texts()
    );
    // The real token is still good for its own contact.
    d.post_webhook(&flows::form_reply(CUSTOMER, "wamid.f4", &valid(&token)))
        .await;
    assert_eq!(wait_texts(&d, 1).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_values_are_refused_and_the_form_can_be_sent_again() {
    let d = flows::start(BOOKING, "").await;
    let token = d.issue_token("wamid.b1").await;
    // Out of range, a choice that is not offered, a past date, and a missing email: the
    // client's checks are not trusted.
    let bad = json!({"flow_token": token, "day": "2001-01-01", "period": "Night", "guests": "80"});
    d.post_webhook(&flows::form_reply(CUSTOMER, "wamid.f1", &bad))
        .await;
    let rows = refusals(&d, 1).await;
    assert_eq!(rows[0]["reason"], "invalid_values");
    assert_eq!(
        rows[0]["invalid"],
        json!(["day", "period", "guests", "email"])
    );
    // The customer gets the plain-text `invalid` messages of the failing fields.
    assert_eq!(wait_texts(&d, 1).await, ["Guests must be between 1 and 8."]);
    // The token stays unused: a corrected submission is accepted.
    d.post_webhook(&flows::form_reply(CUSTOMER, "wamid.f2", &valid(&token)))
        .await;
    let texts = wait_texts(&d, 2).await;
    assert_eq!(
        texts.get(1).map(String::as_str),
        Some("Booked Afternoon for 3, confirmation to ana@example.com")
    );
    // Keys the form does not have never reach the card.
    let token2 = d.issue_token("wamid.b2").await;
    let mut extra = valid(&token2);
    extra["vip"] = json!("yes");
    d.post_webhook(&flows::form_reply(CUSTOMER, "wamid.f3", &extra))
        .await;
    wait_texts(&d, 3).await;
    let state = d
        .shared
        .db
        .run(|s| s.conversation(CUSTOMER))
        .await
        .expect("read")
        .expect("state")
        .body
        .state;
    assert!(state.pointer("/card/fields/vip").is_none(), "{state}");
    assert!(state.pointer("/card/fields/email").is_some(), "{state}");
}
