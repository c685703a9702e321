//! The one place where byte offsets and LSP positions (line plus UTF-16 code unit) meet.
//!
//! The protocol counts columns in UTF-16 code units, the rest of wafl in bytes; an
//! accented Portuguese letter is 2 bytes but 1 unit, an emoji 4 bytes but 2 units. Every
//! conversion in the server goes through [`LineIndex`], and every conversion clamps, so a
//! stale or hostile position from the client never panics.

use lsp_types::{Position, Range};

/// Line starts of one text, for converting offsets in both directions.
#[derive(Clone, Debug)]
pub struct LineIndex {
    text: String,
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex {
            text: text.to_owned(),
            line_starts,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The position of a byte offset (offsets inside a character or past the end clamp).
    pub fn position(&self, offset: usize) -> Position {
        let offset = crate::syntax::source::clamp_to_char_boundary(&self.text, offset);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(l) => l,
            Err(next) => next.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let col: usize = self
            .text
            .get(start..offset)
            .unwrap_or("")
            .chars()
            .map(char::len_utf16)
            .sum();
        Position::new(to_u32(line), to_u32(col))
    }

    /// The byte offset of a position. A column past the end of its line clamps to the end
    /// of the line (before its newline); a line past the end clamps to the end of the text;
    /// a column inside a surrogate pair clamps to the start of that character.
    pub fn offset(&self, pos: Position) -> usize {
        let Some(&start) = self.line_starts.get(pos.line as usize) else {
            return self.text.len();
        };
        let end = self
            .line_starts
            .get(pos.line as usize + 1)
            .map_or(self.text.len(), |next| next.saturating_sub(1));
        let line = self.text.get(start..end).unwrap_or("");
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if c == '\r' && i + 1 == line.len() {
                return start + i;
            }
            let next = units + c.len_utf16();
            if next > pos.character as usize {
                return start + i;
            }
            units = next;
        }
        end
    }

    pub fn range(&self, range: std::ops::Range<usize>) -> Range {
        Range::new(self.position(range.start), self.position(range.end))
    }

    pub fn offsets(&self, range: Range) -> std::ops::Range<usize> {
        let a = self.offset(range.start);
        let b = self.offset(range.end);
        a.min(b)..a.max(b)
    }

    /// The range covering the whole text, for whole-document edits.
    pub fn full_range(&self) -> Range {
        self.range(0..self.text.len())
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_positions_round_trip() {
        let idx = LineIndex::new("ab\ncd\n");
        assert_eq!(idx.position(4), Position::new(1, 1));
        assert_eq!(idx.offset(Position::new(1, 1)), 4);
        assert_eq!(idx.position(6), Position::new(2, 0));
    }

    #[test]
    fn accents_and_emoji_count_in_utf16_units() {
        // "ã" is 2 bytes and 1 unit; "🙂" is 4 bytes and 2 units.
        let text = "reply \"não 🙂 x\"";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap_or(0);
        assert_eq!(idx.position(x), Position::new(0, 14));
        assert_eq!(idx.offset(Position::new(0, 14)), x);
        let emoji = text.find('🙂').unwrap_or(0);
        assert_eq!(idx.position(emoji), Position::new(0, 11));
        // A column in the middle of the surrogate pair clamps to the emoji's start.
        assert_eq!(idx.offset(Position::new(0, 12)), emoji);
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let idx = LineIndex::new("ab\r\ncd");
        assert_eq!(idx.offset(Position::new(0, 99)), 2);
        assert_eq!(idx.offset(Position::new(7, 0)), 6);
        assert_eq!(idx.position(999), Position::new(1, 2));
        // An offset inside a multi-byte character clamps down.
        let idx = LineIndex::new("é");
        assert_eq!(idx.position(1), Position::new(0, 0));
    }
}
