//! [`Timestamp`]: an instant in UTC with millisecond precision.

use std::{fmt, str::FromStr};

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant, as milliseconds since the Unix epoch (UTC).
///
/// Serialized as an RFC 3339 string (`2026-12-03T11:00:00Z`); deserialized from an RFC 3339
/// string or from an integer number of **seconds** since the epoch (the original TriggerX form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Self = Self(0);

    /// From milliseconds since the epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// From whole seconds since the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (floor).
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    /// This instant plus `ms` milliseconds (saturating).
    pub const fn add_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// This instant as a chrono UTC date-time.
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// From a chrono date-time in any zone.
    pub fn from_datetime<Tz: TimeZone>(dt: &DateTime<Tz>) -> Self {
        Self(dt.timestamp_millis())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs_only = self.0 % 1000 == 0;
        let format = if secs_only {
            SecondsFormat::Secs
        } else {
            SecondsFormat::Millis
        };
        f.write_str(&self.to_datetime().to_rfc3339_opts(format, true))
    }
}

/// The error for a string that is not an RFC 3339 instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an RFC 3339 instant such as 2026-12-03T11:00:00Z, found {0:?}")]
pub struct ParseTimestampError(String);

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateTime::parse_from_rfc3339(s.trim())
            .map(|dt| Self::from_datetime(&dt))
            .map_err(|_| ParseTimestampError(s.to_owned()))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Secs(i64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Secs(secs) => Ok(Self::from_secs(secs)),
            Repr::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339() {
        let t: Timestamp = "2026-12-03T11:00:00Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-12-03T11:00:00Z");
        let t2 = t.add_millis(5);
        assert_eq!(t2.to_string(), "2026-12-03T11:00:00.005Z");
        assert_eq!(t2.to_string().parse::<Timestamp>().unwrap(), t2);
    }

    #[test]
    fn offsets_normalise_to_utc() {
        let t: Timestamp = "2026-12-03T12:00:00+01:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-12-03T11:00:00Z");
    }

    #[test]
    fn deserializes_seconds_and_text() {
        let a: Timestamp = serde_json::from_str("1764759600").unwrap();
        let b: Timestamp = serde_json::from_str("\"2025-12-03T11:00:00Z\"").unwrap();
        assert_eq!(a, b);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
