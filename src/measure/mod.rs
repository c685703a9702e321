//! Reports: what the card events say about an operation, per script version and period —
//! the stage funnel, time in stage, drop-off per `ask` and per form screen, re-routes,
//! clarification messages, handling time after a form, first-response and resolution
//! times (wall clock and business hours), handoffs, automation, reopenings, service
//! levels and webhook failures — and one row per card for spreadsheets.
//!
//! Pure: a slice of [`CardEvent`]s in, values out; `docs/measurement.md` says what every
//! number means and how it is computed. The daemon, the CLI and simulations feed it the
//! same records, so a number means the same thing wherever it is shown.

mod cards;
pub mod render;
mod report;

pub use cards::{CardRow, cards};
pub use report::{
    AskFunnel, CallStats, Clarifications, Counts, FormFunnel, Percentiles, Report, Routing,
    ScreenStep, SlaStats, StageFunnel, TeamRouting, Times, VersionReport, report,
};

use crate::engine::events::CardEvent;
use jiff::Timestamp;

/// Which cards a report covers: those opened in `[since, until)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Period {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl Period {
    /// Every card.
    pub fn all() -> Period {
        Period::default()
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// How long after a card closed a new card of the same contact counts as a reopening.
pub const REOPEN_WINDOW_SECS: i64 = 7 * 86_400;

/// The `p`-th percentile (0-100) of sorted values, by nearest rank: the smallest value
/// with at least `p`% of the values at or below it. `None` for no values.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(p.min(100)) * n).div_ceil(100).max(1);
    let i = usize::try_from(rank - 1).unwrap_or(usize::MAX);
    sorted.get(i).or(sorted.last()).copied()
}

/// Both reports from one pass: the per-card rows and the aggregate.
pub fn analyse(events: &[CardEvent], period: Period) -> (Vec<CardRow>, Report) {
    let rows = cards(events, period);
    let rep = report::from_rows(&rows, period);
    (rows, rep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 100), Some(10));
        assert_eq!(percentile(&v, 0), Some(1));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
    }
}
