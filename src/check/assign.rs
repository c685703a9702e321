//! Checker pass: definite assignment — a field is only used where it is surely collected.

use super::Cx;

pub(crate) fn run(_cx: &mut Cx) {}
