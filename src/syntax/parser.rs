//! The pest-driven parser with block-level recovery.

use super::Parsed;
use super::span::FileId;

pub(crate) fn parse_file(_file: FileId, _src: &str) -> Parsed {
    Parsed::default()
}
