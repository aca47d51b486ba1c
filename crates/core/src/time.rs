//! Timestamps. Stored as fixed-width RFC 3339 text in UTC with microseconds, so they
//! sort as text on every backend and read back exactly.

use chrono::{DateTime, SecondsFormat, Utc};

pub type Timestamp = DateTime<Utc>;

pub fn now() -> Timestamp {
    Utc::now()
}

/// `2026-11-24T11:09:52.123456Z`: the stored form, and Keystone's `expires_at` form.
pub fn to_db(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn from_db(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Microseconds since the epoch, as tokens carry time.
pub fn to_micros(t: &Timestamp) -> i64 {
    t.timestamp_micros()
}

pub fn from_micros(us: i64) -> Option<Timestamp> {
    DateTime::from_timestamp_micros(us)
}

/// Parse a timestamp a client sent (RFC 3339, or ISO 8601 without a zone, taken as UTC).
pub fn parse_client(s: &str) -> Option<Timestamp> {
    if let Some(t) = from_db(s) {
        return Some(t);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_and_sorts_as_text() {
        let a = from_micros(1_700_000_000_000_001).unwrap();
        let b = from_micros(1_700_000_000_100_000).unwrap();
        assert_eq!(from_db(&to_db(&a)), Some(a));
        assert!(to_db(&a) < to_db(&b));
        assert_eq!(to_db(&a).len(), to_db(&b).len());
    }

    #[test]
    fn client_times_without_zone_are_utc() {
        let t = parse_client("2030-01-02T03:04:05").unwrap();
        assert_eq!(to_db(&t), "2030-01-02T03:04:05.000000Z");
        assert!(parse_client("next tuesday").is_none());
    }
}
