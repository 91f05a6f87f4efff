//! Epoch milliseconds as RFC 3339 UTC text, and durations for people. Small enough not to need
//! a date crate.

/// `2026-11-21T08:55:38Z`.
pub fn rfc3339(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `1h 59m`, `45s`, `expired 3m ago`.
pub fn human(seconds: i64) -> String {
    let s = seconds.abs();
    let text = if s >= 86_400 {
        format!("{}d {}h", s / 86_400, s % 86_400 / 3600)
    } else if s >= 3600 {
        format!("{}h {}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m {}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    };
    if seconds < 0 {
        format!("expired {text} ago")
    } else {
        format!("in {text}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_278_448_384_422), "2010-07-06T20:33:04Z");
        assert_eq!(super::rfc3339(1_795_251_338_000), "2026-11-21T08:55:38Z");
        assert_eq!(super::human(7140), "in 1h 59m");
        assert_eq!(super::human(-61), "expired 1m 1s ago");
    }
}
