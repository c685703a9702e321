//! A small open-addressing table from feature keys (already well-mixed 64-bit hashes) to
//! feature indexes. Lookups only; it is never iterated, so its layout cannot leak into
//! results, and it uses no per-process random seed.

/// Key -> index, linear probing, power-of-two capacity, at most half full.
#[derive(Clone, Debug, Default)]
pub struct Table {
    slots: Vec<(u64, u32)>,
    mask: usize,
}

/// An empty slot: index `u32::MAX` is never a feature index.
const EMPTY: u32 = u32::MAX;

impl Table {
    pub fn with_capacity(n: usize) -> Table {
        let cap = (n.saturating_mul(2)).max(8).next_power_of_two();
        Table {
            slots: vec![(0, EMPTY); cap],
            mask: cap - 1,
        }
    }

    /// Inserts a key (a repeat keeps its first index).
    pub fn insert(&mut self, key: u64, index: u32) {
        if self.slots.is_empty() || index == EMPTY {
            return;
        }
        let mut at = (key as usize) & self.mask;
        for _ in 0..self.slots.len() {
            match self.slots.get_mut(at) {
                Some(slot) if slot.1 == EMPTY => {
                    *slot = (key, index);
                    return;
                }
                Some(slot) if slot.0 == key => return,
                _ => at = (at + 1) & self.mask,
            }
        }
    }

    pub fn get(&self, key: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mut at = (key as usize) & self.mask;
        for _ in 0..self.slots.len() {
            match self.slots.get(at) {
                Some(&(_, i)) if i == EMPTY => return None,
                Some(&(k, i)) if k == key => return Some(i),
                _ => at = (at + 1) & self.mask,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_inserted_and_nothing_else() {
        let mut t = Table::with_capacity(100);
        for k in 0..100u64 {
            t.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15), k as u32);
        }
        for k in 0..100u64 {
            assert_eq!(t.get(k.wrapping_mul(0x9E37_79B9_7F4A_7C15)), Some(k as u32));
        }
        assert_eq!(t.get(12345), None);
        assert_eq!(Table::default().get(1), None);
    }
}
