//! Time as NetBackup writes it: Unix milliseconds in the records, RFC 3339 text on the
//! wire (`2025-01-01T10:00:00.123Z` in job attributes, any offset in a jobs filter).
//!
//! The simulator's own copy, on purpose: the exporter has its time parser too, and if the
//! two shared one, a bug in it would show up on both sides of every test and hide itself.
//! Plain functions over plain numbers; it knows nothing of HTTP or records.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (negative before 1970).
pub type UnixMillis = i64;

/// The current time as Unix milliseconds.
pub fn now_millis() -> UnixMillis {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// Parses an RFC 3339 date-time (`Z` or a `±HH:MM` offset, optional fraction of which
/// milliseconds are kept) into Unix milliseconds; `None` for anything else.
pub(crate) fn parse_rfc3339(text: &str) -> Option<UnixMillis> {
    let b = text.trim().as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = b.get(range)?;
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let second = num(17..19)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':'
    {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut pos = 19;
    let mut millis = 0i64;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos == start {
            return None;
        }
        // Millisecond precision: further digits are dropped.
        let digits = &b[start..pos.min(start + 3)];
        let mut value = 0i64;
        for d in digits {
            value = value * 10 + i64::from(d - b'0');
        }
        for _ in digits.len()..3 {
            value *= 10;
        }
        millis = value;
    }
    let offset_seconds = match b.get(pos) {
        Some(b'Z') | Some(b'z') if pos + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if pos + 6 == b.len() && b[pos + 3] == b':' => {
            let total = num(pos + 1..pos + 3)? * 3600 + num(pos + 4..pos + 6)? * 60;
            if *sign == b'+' {
                total
            } else {
                -total
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * 1000 + millis)
}

/// Formats Unix milliseconds as NetBackup does: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn format_rfc3339_millis(millis: UnixMillis) -> String {
    let seconds = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

// Howard Hinnant's days-from-civil and civil-from-days (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_both_ways() {
        // 2025-06-15T16:26:40Z, worked out by hand: 20254 days after 1970-01-01.
        let t = 20_254 * 86_400_000 + (16 * 3600 + 26 * 60 + 40) * 1000;
        assert_eq!(format_rfc3339_millis(t + 7), "2025-06-15T16:26:40.007Z");
        assert_eq!(parse_rfc3339("2025-06-15T16:26:40.007Z"), Some(t + 7));
        assert_eq!(parse_rfc3339("2025-06-15T18:26:40+02:00"), Some(t));
        assert_eq!(parse_rfc3339("2025-06-15t16:26:40.0079z"), Some(t + 7));
        assert_eq!(format_rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(19_782 * 86_400_000));
        // NetBackup's "no time" parses; the filter compares it like any other instant.
        assert!(parse_rfc3339("0001-01-01T00:00:00Z").is_some_and(|t| t < 0));
        for t in [0, 1_750_000_000_123, -86_400_001, 253_402_300_799_999] {
            assert_eq!(parse_rfc3339(&format_rfc3339_millis(t)), Some(t), "{t}");
        }
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for bad in [
            "",
            "2025-06-15",
            "2025-06-15T16:26:40",
            "2025-06-15T16:26:40.Z",
            "2025-13-01T00:00:00Z",
            "2025-06-15T24:00:00Z",
            "2025-06-15T16:26:40 02:00",
            "2025-06-15T16:26:40+0200",
            "2025/06/15T16:26:40Z",
            "yesterday at noon, roughly",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
