//! A PostgreSQL schema of its own for each test, on the server named by
//! `WAFL_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`), dropped when
//! the test ends. When no server answers the test is skipped with a loud message, unless
//! `WAFL_REQUIRE_POSTGRES=1` (as `.ci/run` sets), where it fails instead.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

/// The server tests use when `WAFL_TEST_POSTGRES` is not set.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The URL of the test server.
pub fn url() -> String {
    std::env::var("WAFL_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A schema created for one test and dropped (with everything in it) on drop.
pub struct TestSchema {
    pub url: String,
    pub name: String,
}

impl TestSchema {
    /// A client connected to the test database, outside the schema.
    pub fn admin(&self) -> postgres::Client {
        connect(&self.url).unwrap_or_else(|e| panic!("cannot reconnect to {}: {e}", self.url))
    }

    /// A client whose `search_path` is this schema, for looking at the tables directly.
    pub fn client(&self) -> postgres::Client {
        let mut c = self.admin();
        c.batch_execute(&format!("SET search_path = {}", self.name))
            .unwrap_or_else(|e| panic!("cannot set search_path to {}: {e}", self.name));
        c
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = connect(&self.url) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

fn connect(url: &str) -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    config.connect_timeout(std::time::Duration::from_secs(3));
    config.connect(postgres::NoTls)
}

/// Whether PostgreSQL tests must fail rather than skip when the server is absent.
pub fn required() -> bool {
    std::env::var("WAFL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// A fresh schema named after `test`, or `None` (after a loud message) when no server
/// answers and PostgreSQL is not required.
pub fn schema(test: &str) -> Option<TestSchema> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let url = url();
    let mut client = match connect(&url) {
        Ok(c) => c,
        Err(e) => {
            if required() {
                panic!(
                    "WAFL_REQUIRE_POSTGRES=1 but PostgreSQL at {url} does not answer: {e}\n\
                     start it (pg_ctlcluster <version> main start) or point WAFL_TEST_POSTGRES at a server"
                );
            }
            eprintln!(
                "\n{bar}\nSKIPPED {test}: no PostgreSQL at {url} ({e}).\n\
                 Start one, or set WAFL_TEST_POSTGRES; set WAFL_REQUIRE_POSTGRES=1 to fail instead.\n{bar}\n",
                bar = "!".repeat(78)
            );
            return None;
        }
    };
    let clean: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    let name = format!(
        "wafl_t_{clean}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .unwrap_or_else(|e| panic!("cannot create schema {name} on {url}: {e}"));
    Some(TestSchema { url, name })
}
