//! Business hours: is an instant inside an `hours` declaration, in its time zone?
//!
//! A range whose end is before its start crosses midnight: `fri 22:00-02:00` covers
//! Friday 22:00 to Saturday 02:00. A closed date (holiday) cancels the ranges that start
//! on that date; the after-midnight tail of the previous evening's range still counts.
//! A range whose start equals its end covers the whole day.

use crate::compile::Hours;
use jiff::Timestamp;
use jiff::civil::Date;

/// True when `now` falls inside the hours.
pub fn inside(hours: &Hours, now: Timestamp) -> bool {
    let local = hours.timezone.to_datetime(now);
    let date = local.date();
    let minute = local.hour() as u32 * 60 + local.minute() as u32;
    let day = date.weekday().to_monday_zero_offset() as usize;
    let yesterday = (day + 6) % 7;
    let prev_date = date.yesterday().ok();
    let open_on = |d: Option<Date>| d.is_some_and(|d| !hours.closed.contains(&d));
    hours.rules.iter().any(|(days, from, to)| {
        let on = |i: usize| days.get(i).copied().unwrap_or(false);
        if from == to {
            on(day) && open_on(Some(date))
        } else if from < to {
            on(day) && open_on(Some(date)) && *from <= minute && minute < *to
        } else {
            (on(day) && open_on(Some(date)) && minute >= *from)
                || (on(yesterday) && open_on(prev_date) && minute < *to)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{DateTime, date};
    use jiff::tz::TimeZone;

    fn hours(tz: &str, rules: Vec<([bool; 7], u32, u32)>, closed: Vec<Date>) -> Hours {
        Hours {
            name: "h".into(),
            timezone: TimeZone::get(tz).unwrap_or(TimeZone::UTC),
            rules,
            closed,
        }
    }

    fn at(h: &Hours, dt: DateTime) -> bool {
        inside(h, h.timezone.to_timestamp(dt).unwrap_or_default())
    }

    const MON_FRI: [bool; 7] = [true, true, true, true, true, false, false];

    #[test]
    fn start_is_in_end_is_out() {
        let h = hours("UTC", vec![(MON_FRI, 9 * 60, 18 * 60)], vec![]);
        assert!(at(&h, date(2026, 1, 5).at(9, 0, 0, 0)));
        assert!(!at(&h, date(2026, 1, 5).at(18, 0, 0, 0)));
        assert!(!at(&h, date(2026, 1, 10).at(10, 0, 0, 0)));
    }

    #[test]
    fn whole_day_when_start_equals_end() {
        let h = hours("UTC", vec![(MON_FRI, 0, 0)], vec![date(2026, 1, 6)]);
        assert!(at(&h, date(2026, 1, 5).at(23, 59, 0, 0)));
        assert!(!at(&h, date(2026, 1, 6).at(12, 0, 0, 0)));
    }

    #[test]
    fn holiday_keeps_the_previous_evenings_tail() {
        let h = hours(
            "UTC",
            vec![(MON_FRI, 22 * 60, 2 * 60)],
            vec![date(2026, 1, 6)],
        );
        // Monday 22:00-02:00 runs into the Tuesday holiday.
        assert!(at(&h, date(2026, 1, 6).at(1, 0, 0, 0)));
        // Tuesday's own evening range is cancelled.
        assert!(!at(&h, date(2026, 1, 6).at(23, 0, 0, 0)));
        assert!(!at(&h, date(2026, 1, 7).at(1, 0, 0, 0)));
    }

    #[test]
    fn local_time_follows_daylight_saving() {
        // New York switches to daylight time on 2026-03-08: 09:00 local is 13:00 UTC after,
        // 14:00 UTC before.
        let h = hours(
            "America/New_York",
            vec![([true; 7], 9 * 60, 10 * 60)],
            vec![],
        );
        let utc = |d: Date, hh: i8| {
            TimeZone::UTC
                .to_timestamp(d.at(hh, 30, 0, 0))
                .unwrap_or_default()
        };
        assert!(inside(&h, utc(date(2026, 3, 6), 14)));
        assert!(!inside(&h, utc(date(2026, 3, 6), 13)));
        assert!(inside(&h, utc(date(2026, 3, 9), 13)));
        assert!(!inside(&h, utc(date(2026, 3, 9), 14)));
    }
}
