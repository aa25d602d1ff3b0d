//! Date and time texts in the fixed forms the feeds use (iCalendar's basic form, ISO 8601
//! dates), written digit by digit. chrono's `format("%Y%m%d...")` interprets its pattern on
//! every call, and a render of a large calendar formats hundreds of thousands of times.
//!
//! Years outside 0000..=9999 (which no valid feed carries, but a date type allows) fall back
//! to chrono, so the text is always the same as `format` would give.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

fn push2(out: &mut String, n: u32) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Writes the date, `sep` between its parts; `false` for a year that needs chrono.
fn push_date(out: &mut String, d: NaiveDate, sep: Option<char>) -> bool {
    let Ok(year) = u32::try_from(d.year()) else {
        return false;
    };
    if year > 9999 {
        return false;
    }
    push2(out, year / 100);
    push2(out, year % 100);
    out.extend(sep);
    push2(out, d.month());
    out.extend(sep);
    push2(out, d.day());
    true
}

fn push_time(out: &mut String, t: NaiveDateTime) {
    out.push('T');
    push2(out, t.hour());
    push2(out, t.minute());
    push2(out, t.second());
}

/// `YYYYMMDD` (iCalendar DATE).
pub fn basic_date(d: NaiveDate) -> String {
    let mut out = String::with_capacity(8);
    if push_date(&mut out, d, None) {
        out
    } else {
        d.format("%Y%m%d").to_string()
    }
}

/// `YYYYMMDDTHHMMSS` (iCalendar DATE-TIME in local or floating time).
pub fn basic_local(t: NaiveDateTime) -> String {
    let mut out = String::with_capacity(15);
    if push_date(&mut out, t.date(), None) {
        push_time(&mut out, t);
        out
    } else {
        t.format("%Y%m%dT%H%M%S").to_string()
    }
}

/// `YYYYMMDDTHHMMSSZ` (iCalendar DATE-TIME in UTC).
pub fn basic_utc(t: &DateTime<Utc>) -> String {
    let mut out = String::with_capacity(16);
    let naive = t.naive_utc();
    if push_date(&mut out, naive.date(), None) {
        push_time(&mut out, naive);
        out.push('Z');
        out
    } else {
        t.format("%Y%m%dT%H%M%SZ").to_string()
    }
}

/// `YYYY-MM-DD` (ISO 8601 calendar date).
pub fn iso_date(d: NaiveDate) -> String {
    let mut out = String::with_capacity(10);
    if push_date(&mut out, d, Some('-')) {
        out
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_as_chrono() {
        let dates = [
            NaiveDate::from_ymd_opt(2026, 3, 29),
            NaiveDate::from_ymd_opt(1, 1, 1),
            NaiveDate::from_ymd_opt(9999, 12, 31),
            NaiveDate::from_ymd_opt(10_000, 1, 1),
            NaiveDate::from_ymd_opt(-44, 3, 15),
        ];
        for d in dates.into_iter().flatten() {
            assert_eq!(basic_date(d), d.format("%Y%m%d").to_string());
            assert_eq!(iso_date(d), d.format("%Y-%m-%d").to_string());
            for (h, m, s) in [(0, 0, 0), (9, 5, 7), (23, 59, 59)] {
                let Some(t) = d.and_hms_opt(h, m, s) else {
                    continue;
                };
                assert_eq!(basic_local(t), t.format("%Y%m%dT%H%M%S").to_string());
                let utc = t.and_utc();
                assert_eq!(basic_utc(&utc), utc.format("%Y%m%dT%H%M%SZ").to_string());
            }
        }
    }
}
