//! The storage conformance suite against the embedded SQLite backend (in memory, and
//! on a file that is reopened).

#[path = "support/store_conformance.rs"]
mod store_conformance;

use wafl::daemon::store::Store;
use wafl::daemon::store::sqlite::{SCHEMA_VERSION, SqliteStore};

#[test]
fn sqlite_in_memory_conforms() {
    store_conformance::run_all(&|| -> Box<dyn Store> {
        Box::new(SqliteStore::in_memory().expect("in-memory store"))
    });
}

#[test]
fn sqlite_file_conforms_and_migrates_once() {
    let dir = std::env::temp_dir().join(format!("wafl-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let n = std::sync::atomic::AtomicUsize::new(0);
    store_conformance::run_all(&|| -> Box<dyn Store> {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("s{i}.db"));
        let _ = std::fs::remove_file(&path);
        Box::new(SqliteStore::open(&path).expect("file store"))
    });
    let path = dir.join("reopen.db");
    let _ = std::fs::remove_file(&path);
    {
        let s = SqliteStore::open(&path).expect("open");
        assert_eq!(s.schema_version().expect("version"), SCHEMA_VERSION);
    }
    let s = SqliteStore::open(&path).expect("reopen");
    assert_eq!(s.schema_version().expect("version"), SCHEMA_VERSION);
    let _ = std::fs::remove_dir_all(&dir);
}
