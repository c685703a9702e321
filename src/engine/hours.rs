//! Business hours: is an instant inside an `hours` declaration, in its time zone, and how
//! much open time lies between two instants (durations "in business hours").
//!
//! A range whose end is before its start crosses midnight: `fri 22:00-02:00` covers
//! Friday 22:00 to Saturday 02:00. A closed date (holiday) cancels the ranges that start
//! on that date; the after-midnight tail of the previous evening's range still counts.
//! A range whose start equals its end covers the whole day.

use crate::compile::Hours;
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};

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

/// The open stretches of `hours` within `[from, to)`, as sorted, disjoint, non-adjacent
/// half-open intervals.
///
/// Computed so that an instant is in an interval exactly when [`inside`] says so: the
/// span is cut at every instant where the answer may change (each rule boundary on each
/// local date, both occurrences of a repeated local time, every time-zone transition),
/// and each piece is open or closed as a whole, as [`inside`] says of its first instant.
pub fn open_intervals(
    hours: &Hours,
    from: Timestamp,
    to: Timestamp,
) -> Vec<(Timestamp, Timestamp)> {
    let mut out: Vec<(Timestamp, Timestamp)> = Vec::new();
    if from >= to || hours.rules.is_empty() {
        return out;
    }
    let tz = &hours.timezone;
    let mut cuts = vec![from, to];
    // Every minute at which a rule starts or ends, and midnight, where dates change.
    let mut minutes: Vec<u32> = vec![0];
    for (_, a, b) in &hours.rules {
        minutes.push(a % (24 * 60));
        minutes.push(b % (24 * 60));
    }
    minutes.sort_unstable();
    minutes.dedup();
    let first = tz.to_datetime(from).date().yesterday().unwrap_or(Date::MIN);
    let last = tz.to_datetime(to).date().tomorrow().unwrap_or(Date::MAX);
    let mut day = first;
    while day <= last {
        for &m in &minutes {
            let Ok(time) = Time::new((m / 60) as i8, (m % 60) as i8, 0, 0) else {
                continue;
            };
            let amb = tz.to_ambiguous_timestamp(day.to_datetime(time));
            for t in [amb.earlier(), amb.later()].into_iter().flatten() {
                if from < t && t < to {
                    cuts.push(t);
                }
            }
        }
        let Ok(next) = day.tomorrow() else { break };
        day = next;
    }
    for tr in tz.following(from) {
        let t = tr.timestamp();
        if t >= to {
            break;
        }
        cuts.push(t);
    }
    cuts.sort_unstable();
    cuts.dedup();
    for pair in cuts.windows(2) {
        let [a, b] = pair else { continue };
        if !inside(hours, *a) {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.1 == *a => last.1 = *b,
            _ => out.push((*a, *b)),
        }
    }
    out
}

/// Seconds of open time between two instants (zero when `to` is not after `from`).
pub fn open_seconds(hours: &Hours, from: Timestamp, to: Timestamp) -> i64 {
    open_intervals(hours, from, to)
        .iter()
        .map(|(a, b)| b.as_second() - a.as_second())
        .sum()
}

/// How far ahead [`add_open`] looks before it decides the hours never open.
const HORIZON_DAYS: i64 = 366 * 2;

/// The instant at which `seconds` of open time have passed since `from`: a deadline in
/// business hours. `None` when the hours do not open for that long within two years.
/// Zero seconds is `from` itself, open or not.
pub fn add_open(hours: &Hours, from: Timestamp, seconds: i64) -> Option<Timestamp> {
    if seconds <= 0 {
        return Some(from);
    }
    let mut left = seconds;
    let mut start = from;
    let week = SignedDuration::from_hours(24 * 7);
    for _ in 0..HORIZON_DAYS / 7 {
        let end = start.checked_add(week).ok()?;
        for (a, b) in open_intervals(hours, start, end) {
            let len = b.as_second() - a.as_second();
            if len >= left {
                return a.checked_add(SignedDuration::from_secs(left)).ok();
            }
            left -= len;
        }
        start = end;
    }
    None
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

    fn ts(h: &Hours, dt: DateTime) -> Timestamp {
        h.timezone.to_timestamp(dt).unwrap_or_default()
    }

    /// Open seconds by brute force: [`inside`] at the start of every minute.
    fn by_minutes(h: &Hours, from: Timestamp, to: Timestamp) -> i64 {
        let mut t = from;
        let mut n = 0;
        while t < to {
            if inside(h, t) {
                n += 60;
            }
            t = t.checked_add(SignedDuration::from_mins(1)).unwrap_or(to);
        }
        n
    }

    const HOUR: i64 = 3600;

    #[test]
    fn a_night_does_not_count() {
        let h = hours("UTC", vec![(MON_FRI, 9 * 60, 18 * 60)], vec![]);
        // Monday 17:00 to Tuesday 10:00: one hour on Monday, one on Tuesday.
        let from = ts(&h, date(2026, 1, 5).at(17, 0, 0, 0));
        let to = ts(&h, date(2026, 1, 6).at(10, 0, 0, 0));
        assert_eq!(open_seconds(&h, from, to), 2 * HOUR);
        assert_eq!(add_open(&h, from, 2 * HOUR), Some(to));
    }

    #[test]
    fn a_weekend_does_not_count() {
        let h = hours("UTC", vec![(MON_FRI, 9 * 60, 18 * 60)], vec![]);
        // Friday 16:00 to Monday 11:00.
        let from = ts(&h, date(2026, 1, 9).at(16, 0, 0, 0));
        let to = ts(&h, date(2026, 1, 12).at(11, 0, 0, 0));
        assert_eq!(open_seconds(&h, from, to), 4 * HOUR);
        assert_eq!(add_open(&h, from, 4 * HOUR), Some(to));
        // Starting on Saturday, the clock waits for Monday 09:00.
        let sat = ts(&h, date(2026, 1, 10).at(12, 0, 0, 0));
        assert_eq!(
            add_open(&h, sat, 30 * 60),
            Some(ts(&h, date(2026, 1, 12).at(9, 30, 0, 0)))
        );
    }

    #[test]
    fn a_holiday_does_not_count() {
        let h = hours(
            "UTC",
            vec![(MON_FRI, 9 * 60, 18 * 60)],
            vec![date(2026, 1, 6)],
        );
        let from = ts(&h, date(2026, 1, 5).at(17, 0, 0, 0));
        let to = ts(&h, date(2026, 1, 7).at(10, 0, 0, 0));
        assert_eq!(open_seconds(&h, from, to), 2 * HOUR);
    }

    #[test]
    fn a_range_crossing_midnight_counts_its_tail_after_a_holiday() {
        // Nights: 22:00-02:00 every day; Tuesday is a holiday.
        let h = hours(
            "UTC",
            vec![([true; 7], 22 * 60, 2 * 60)],
            vec![date(2026, 1, 6)],
        );
        let from = ts(&h, date(2026, 1, 5).at(12, 0, 0, 0));
        let to = ts(&h, date(2026, 1, 7).at(12, 0, 0, 0));
        // Monday 22:00-Tuesday 02:00 (4h), Tuesday's own night cancelled.
        assert_eq!(open_seconds(&h, from, to), 4 * HOUR);
        assert_eq!(
            open_intervals(&h, from, to),
            vec![(
                ts(&h, date(2026, 1, 5).at(22, 0, 0, 0)),
                ts(&h, date(2026, 1, 6).at(2, 0, 0, 0))
            )]
        );
    }

    #[test]
    fn daylight_saving_days_are_shorter_and_longer() {
        // Whole days in New York: the spring-forward day has 23 hours, the fall-back
        // day 25.
        let h = hours("America/New_York", vec![([true; 7], 0, 0)], vec![]);
        let day = |d: Date| {
            open_seconds(
                &h,
                ts(&h, d.at(0, 0, 0, 0)),
                ts(&h, d.tomorrow().unwrap_or(d).at(0, 0, 0, 0)),
            )
        };
        assert_eq!(day(date(2026, 3, 8)), 23 * HOUR);
        assert_eq!(day(date(2026, 11, 1)), 25 * HOUR);
        assert_eq!(day(date(2026, 11, 2)), 24 * HOUR);
    }

    #[test]
    fn a_repeated_local_hour_counts_twice() {
        // 01:00-02:00 happens twice when New York falls back on 2026-11-01.
        let h = hours("America/New_York", vec![([true; 7], 60, 120)], vec![]);
        let from = ts(&h, date(2026, 10, 31).at(12, 0, 0, 0));
        let to = ts(&h, date(2026, 11, 1).at(12, 0, 0, 0));
        assert_eq!(open_seconds(&h, from, to), 2 * HOUR);
        assert_eq!(open_seconds(&h, from, to), by_minutes(&h, from, to));
    }

    #[test]
    fn a_skipped_local_hour_does_not_count() {
        // 02:00-03:00 does not exist when New York springs forward on 2026-03-08.
        let h = hours(
            "America/New_York",
            vec![([true; 7], 2 * 60, 4 * 60)],
            vec![],
        );
        let from = ts(&h, date(2026, 3, 7).at(12, 0, 0, 0));
        let to = ts(&h, date(2026, 3, 8).at(12, 0, 0, 0));
        assert_eq!(open_seconds(&h, from, to), HOUR);
        assert_eq!(open_seconds(&h, from, to), by_minutes(&h, from, to));
    }

    #[test]
    fn hours_that_never_open_give_no_deadline() {
        let h = hours("UTC", vec![], vec![]);
        let from = ts(&h, date(2026, 1, 5).at(9, 0, 0, 0));
        assert_eq!(add_open(&h, from, 60), None);
        assert_eq!(add_open(&h, from, 0), Some(from));
    }

    #[test]
    fn open_time_agrees_with_inside_minute_by_minute() {
        // Several shapes over a stretch that holds a DST change, a holiday, weekends
        // and midnight crossings; the ends are not aligned to the hour.
        let shapes = [
            (
                "America/Sao_Paulo",
                vec![
                    (MON_FRI, 8 * 60, 18 * 60),
                    (
                        [false, false, false, false, false, true, false],
                        9 * 60,
                        13 * 60,
                    ),
                ],
            ),
            (
                "Europe/Lisbon",
                vec![(
                    [true, false, true, false, true, true, false],
                    22 * 60,
                    3 * 60,
                )],
            ),
            (
                "America/New_York",
                vec![
                    (MON_FRI, 0, 0),
                    (
                        [false, false, false, false, false, true, true],
                        23 * 60 + 30,
                        30,
                    ),
                ],
            ),
        ];
        for (tz, rules) in shapes {
            let h = hours(tz, rules, vec![date(2026, 3, 10), date(2026, 3, 30)]);
            let mut from = ts(&h, date(2026, 3, 5).at(7, 13, 0, 0));
            for step in 0..20 {
                let len = SignedDuration::from_mins(17 + 211 * step);
                let to = from.checked_add(len).unwrap_or(from);
                assert_eq!(
                    open_seconds(&h, from, to),
                    by_minutes(&h, from, to),
                    "{tz} from {from} to {to}"
                );
                let open = open_seconds(&h, from, to);
                if open > 0 {
                    // The deadline of that much open time is the last open instant's end.
                    let due = add_open(&h, from, open).unwrap_or(from);
                    assert_eq!(open_seconds(&h, from, due), open, "{tz} deadline");
                    assert!(due <= to);
                }
                from = from
                    .checked_add(SignedDuration::from_hours(31))
                    .unwrap_or(from);
            }
        }
    }
}
