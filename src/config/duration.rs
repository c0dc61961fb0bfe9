//! Durations as people write them: `"250ms"`, `"1.5s"`, `"2m"`, `"1h 30m"`.
//!
//! Use it for a field of your own with `#[serde(with = "failguard::config::duration")]`, or
//! `with = "failguard::config::duration::option"` for an `Option<Duration>`.
//!
//! # Reading
//!
//! A string of numbers, each followed by its unit, parsed by the `humantime` crate: `ns`,
//! `us` (or `µs`), `ms`, `s`, `m` (minutes), `h`, `d`, and their long forms (`sec`, `min`,
//! `hours`, ...). Fractions are exact (`"1.5s"` is 1,500,000,000 ns; no float rounding), and
//! parts add up (`"1m 30s"`, `"1m30s"`).
//!
//! **A bare number is refused** (`5`, or `"5"`): whether it meant milliseconds or seconds is
//! exactly the mistake a unit prevents, and a timeout a thousand times too long or too short
//! is not found until an outage. The one exception is `"0"`, which is zero in any unit.
//!
//! # Writing
//!
//! One number and one unit, exact, so that reading it back gives the same duration to the
//! nanosecond: `"0s"`, whole hours as `"2h"`, whole minutes as `"5m"`, whole seconds as
//! `"90s"`, seconds with a fraction as `"4.25s"`, below a second `"250ms"`, `"750us"` or
//! `"42ns"` (whichever is whole).
//!
//! ```
//! use std::time::Duration;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Poll {
//!     #[serde(with = "failguard::config::duration")]
//!     every: Duration,
//! }
//!
//! let poll: Poll = serde_json::from_str(r#"{ "every": "1.5s" }"#).unwrap();
//! assert_eq!(poll.every, Duration::from_millis(1500));
//! assert_eq!(serde_json::to_string(&poll).unwrap(), r#"{"every":"1.5s"}"#);
//!
//! let unitless = serde_json::from_str::<Poll>(r#"{ "every": 5 }"#).unwrap_err();
//! assert!(unitless.to_string().contains(r#"a duration with a unit, such as "250ms""#));
//! ```

use std::{fmt, time::Duration};

use serde::{Deserializer, Serializer, de};

/// Writes `duration` as one number and a unit (see the [module docs](self)).
///
/// # Errors
///
/// Only those of the serializer.
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&Human(*duration))
}

/// Reads a duration written with its units (see the [module docs](self)).
///
/// # Errors
///
/// Anything but a string, a string that is not a duration, or a number without a unit; the
/// message quotes the value and says what was expected.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_str(DurationVisitor)
}

/// The same for an `Option<Duration>`: `None` is left out (or `null`).
///
/// ```
/// use std::time::Duration;
///
/// #[derive(serde::Deserialize)]
/// struct Limits {
///     #[serde(default, with = "failguard::config::duration::option")]
///     deadline: Option<Duration>,
/// }
///
/// let limits: Limits = serde_json::from_str(r#"{ "deadline": "2m" }"#).unwrap();
/// assert_eq!(limits.deadline, Some(Duration::from_secs(120)));
/// let limits: Limits = serde_json::from_str("{}").unwrap();
/// assert_eq!(limits.deadline, None);
/// ```
pub mod option {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    /// Writes `Some(duration)` as [`duration::serialize`](super::serialize) does, `None` as
    /// nothing.
    ///
    /// # Errors
    ///
    /// Only those of the serializer.
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(d) => serializer.serialize_some(&super::Human(*d)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads an optional duration: `null` is `None`, anything else as
    /// [`duration::deserialize`](super::deserialize) reads it.
    ///
    /// # Errors
    ///
    /// As [`duration::deserialize`](super::deserialize).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        deserializer.deserialize_option(super::OptionVisitor)
    }
}

/// A duration written as one number and a unit, exactly.
pub(crate) struct Human(pub(crate) Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MINUTE: u64 = 60;
        const HOUR: u64 = 60 * MINUTE;
        let (secs, nanos) = (self.0.as_secs(), self.0.subsec_nanos());
        match (secs, nanos) {
            (0, 0) => f.write_str("0s"),
            (s, 0) if s % HOUR == 0 => write!(f, "{}h", s / HOUR),
            (s, 0) if s % MINUTE == 0 => write!(f, "{}m", s / MINUTE),
            (s, 0) => write!(f, "{s}s"),
            (0, n) if n % 1_000_000 == 0 => write!(f, "{}ms", n / 1_000_000),
            (0, n) if n % 1_000 == 0 => write!(f, "{}us", n / 1_000),
            (0, n) => write!(f, "{n}ns"),
            (s, n) => {
                // Nine digits of nanoseconds, trailing zeros dropped: 4.25s, 1.000000001s.
                let digits = format!("{n:09}");
                write!(f, "{s}.{}s", digits.trim_end_matches('0'))
            }
        }
    }
}

impl serde::Serialize for Human {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

struct DurationVisitor;

impl de::Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a duration with a unit, such as "250ms", "1.5s" or "2m""#)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse(v).map_err(E::custom)
    }
}

struct OptionVisitor;

impl<'de> de::Visitor<'de> for OptionVisitor {
    type Value = Option<Duration>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DurationVisitor.expecting(f)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserialize(deserializer).map(Some)
    }
}

/// Parses a duration with its units; the error says what was wrong and quotes the input.
fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| match e {
        humantime::DurationError::UnknownUnit { unit, .. } if unit.is_empty() => format!(
            r#"invalid duration "{text}": a number needs a unit (ms, s, m, h), such as "{}ms""#,
            text.trim()
        ),
        e => format!(r#"invalid duration "{text}": {e}"#),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn human(d: Duration) -> String {
        Human(d).to_string()
    }

    #[test]
    fn writes_one_number_and_the_largest_whole_unit() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(1), "1s"),
            (4250 * MS, "4.25s"),
            (Duration::new(1, 1), "1.000000001s"),
            (250 * MS, "250ms"),
            (Duration::from_micros(750), "750us"),
            (Duration::from_micros(1500), "1500us"),
            (Duration::from_nanos(42), "42ns"),
        ];
        for (d, text) in cases {
            assert_eq!(human(d), text, "{d:?}");
            assert_eq!(parse(text), Ok(d), "{text} reads back");
        }
    }

    #[test]
    fn reads_what_people_write() {
        let cases = [
            ("250ms", 250 * MS),
            ("1.5s", 1500 * MS),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1h 30m", Duration::from_secs(5400)),
            ("1m30s", Duration::from_secs(90)),
            ("10 sec", Duration::from_secs(10)),
            ("0", Duration::ZERO),
        ];
        for (text, d) in cases {
            assert_eq!(parse(text), Ok(d), "{text}");
        }
    }

    #[test]
    fn a_number_without_a_unit_is_refused_and_the_error_says_so() {
        let e = parse("250").unwrap_err();
        assert_eq!(
            e,
            r#"invalid duration "250": a number needs a unit (ms, s, m, h), such as "250ms""#
        );
        assert!(parse("5 parsecs").unwrap_err().contains("parsecs"));
        assert!(
            parse("")
                .unwrap_err()
                .starts_with(r#"invalid duration "":"#)
        );
    }

    #[test]
    fn every_duration_written_reads_back_exactly() {
        use proptest::prelude::*;
        // Up to a hundred years, to the nanosecond.
        proptest!(|(secs in 0u64..3_155_760_000, nanos in 0u32..1_000_000_000)| {
            let d = Duration::new(secs, nanos);
            prop_assert_eq!(parse(&human(d)), Ok(d));
        });
    }
}
