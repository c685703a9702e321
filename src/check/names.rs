//! Checker pass: names.

use super::Cx;

pub(crate) fn run(_cx: &mut Cx) {}
