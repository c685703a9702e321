//! Checker pass: shadow.

use super::Cx;

pub(crate) fn run(_cx: &mut Cx) {}
