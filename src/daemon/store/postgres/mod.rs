//! The PostgreSQL store: several daemons over one database.

pub mod conn;
mod revisions;
mod store;

pub use conn::{ConnError, DatabaseUrl, Pool, PoolOptions};
pub use store::{PgOptions, PgStore};
