//! Time text formats shared by the config, the NetBackup client and the simulator:
//! RFC 3339 timestamps (NetBackup's `startTime`/`endTime`, the jobs filter) and Go-style
//! durations (`5m`, `1h30m`, `250ms`, as the Go exporter's config writes them).
//!
//! Plain functions over plain data; it knows nothing of configs, HTTP or metrics.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (negative before 1970).
pub type UnixMillis = i64;

/// Parses an RFC 3339 date-time such as `2025-01-01T10:00:00.123Z` or
/// `2025-01-01T12:00:00+02:00` into Unix milliseconds. Returns `None` for anything else,
/// including the empty string. NetBackup writes `0001-01-01T00:00:00Z` for "no time";
/// that parses (to a large negative number) and callers treat it as absent.
pub fn parse_rfc3339(text: &str) -> Option<UnixMillis> {
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
        // Keep millisecond precision; extra digits are truncated.
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
            let oh = num(pos + 1..pos + 3)?;
            let om = num(pos + 4..pos + 6)?;
            let total = oh * 3600 + om * 60;
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

/// Formats Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`, the form NetBackup's jobs
/// filter expects.
pub fn format_rfc3339_millis(millis: UnixMillis) -> String {
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

/// The current time as Unix milliseconds.
pub fn now_millis() -> UnixMillis {
    system_time_millis(SystemTime::now())
}

/// A `SystemTime` as Unix milliseconds.
pub fn system_time_millis(t: SystemTime) -> UnixMillis {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian calendar).
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

/// Parses a Go-style duration: one or more `<number><unit>` parts with units
/// `ns`, `us`, `µs`, `ms`, `s`, `m`, `h` (e.g. `5m`, `1h30m`, `1.5s`, `250ms`).
/// A bare `0` is accepted as zero. Returns a message fit for a config problem.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration (expected a value like 30s, 5m or 1h30m)".into());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.starts_with('-') {
        return Err(format!(
            "{text:?} is negative (expected a value like 30s, 5m or 1h30m)"
        ));
    }
    let bad = || format!("{text:?} is not a duration (expected a value like 30s, 5m or 1h30m)");
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit_nanos = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total_nanos += value * unit_nanos;
    }
    // Cap far beyond any sensible interval so arithmetic on the result cannot overflow.
    if !total_nanos.is_finite() || total_nanos > 1e9 * 86_400.0 * 366.0 * 100.0 {
        return Err(format!("{text:?} is too large"));
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

/// Formats a duration the way `parse_go_duration` reads it back (`1h30m`, `250ms`).
pub fn format_go_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    if d.subsec_nanos() != 0 && d.as_secs() == 0 {
        let ms = d.as_secs_f64() * 1000.0;
        return if ms.fract() == 0.0 {
            format!("{}ms", ms as u64)
        } else {
            format!("{ms}ms")
        };
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    if secs >= 3600 {
        out.push_str(&format!("{}h", secs / 3600));
        secs %= 3600;
    }
    if secs >= 60 {
        out.push_str(&format!("{}m", secs / 60));
        secs %= 60;
    }
    let nanos = d.subsec_nanos();
    if secs > 0 || nanos > 0 || out.is_empty() {
        if nanos > 0 {
            let frac = format!("{:09}", nanos);
            out.push_str(&format!("{secs}.{}s", frac.trim_end_matches('0')));
        } else {
            out.push_str(&format!("{secs}s"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_rejects_garbage() {
        let cases: &[(&str, Option<i64>)] = &[
            ("1970-01-01T00:00:00Z", Some(0)),
            ("1970-01-01T00:00:01.5Z", Some(1500)),
            ("2025-01-01T10:00:00.123Z", Some(1_735_725_600_123)),
            ("2025-01-01T12:00:00+02:00", Some(1_735_725_600_000)),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800_000)),
            ("2025-01-01T10:00:00.123456789Z", Some(1_735_725_600_123)),
            ("", None),
            ("2025-13-01T10:00:00Z", None),
            ("2025-01-01 10:00", None),
            ("not a date at all!!", None),
            ("2025-01-01T10:00:00", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_rfc3339(text), *want, "{text}");
        }
        for ms in [0, 1_735_725_600_123, 1_709_164_800_000, -62_135_596_800_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339_millis(ms)), Some(ms));
        }
        assert!(parse_rfc3339("0001-01-01T00:00:00Z").unwrap() < 0);
    }

    #[test]
    fn go_durations() {
        let ok: &[(&str, u64)] = &[
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("250ms", 250),
            ("1.5s", 1500),
            ("0", 0),
            ("2h", 7_200_000),
        ];
        for (text, ms) in ok {
            assert_eq!(
                parse_go_duration(text).map(|d| d.as_millis() as u64),
                Ok(*ms),
                "{text}"
            );
        }
        for bad in ["", "5", "5x", "m5", "-5m", "1h-3m", "abc"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
        for text in ["5m", "1h30m", "250ms", "1.5s", "2h0m5s"] {
            let d = parse_go_duration(text).unwrap();
            assert_eq!(parse_go_duration(&format_go_duration(d)).unwrap(), d);
        }
    }
}
