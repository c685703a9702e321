//! Publishing control, pure: what a new revision does to the cards still open
//! ([`migrate`]), what it would have done to recorded conversations ([`replay`]), and a
//! recorded conversation as a regression test ([`save_test`]). The daemon stores
//! revisions and recordings and calls these; nothing here reads a clock or a database.

pub mod mask;
pub mod migrate;
pub mod replay;
pub mod save_test;
