//! The PostgreSQL store against a real server (see tests/support/pg.rs for which one and
//! when these tests skip): migrations, the pool's limits, and the store's contract.

#[path = "support/pg.rs"]
mod pg;

use std::time::Duration;

use wafl::postgres_store::conn::{self, ConnError, DatabaseUrl, PoolOptions};

fn options(schema: &pg::TestSchema) -> PoolOptions {
    PoolOptions {
        max_size: 4,
        schema: Some(schema.name.clone()),
        ..PoolOptions::default()
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
