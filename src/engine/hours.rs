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
