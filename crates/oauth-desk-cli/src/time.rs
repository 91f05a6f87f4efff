//! Durations for people (`in 1h 59m`); timestamps come from the core's clock module.

pub use oauth_desk_core::clock::rfc3339;

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
        assert_eq!(super::human(7140), "in 1h 59m");
        assert_eq!(super::human(-61), "expired 1m 1s ago");
    }
}
