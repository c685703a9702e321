//! The PostgreSQL store: several daemons over one database.

pub mod conn;

pub use conn::{ConnError, DatabaseUrl, Pool, PoolOptions};
