//! Humane durations: `90s`, `5m`, `2h`, `30d`, `1w`, `250ms`, `1h30m`, or integer seconds.

use super::model::DurationValue;

const UNITS: [(&str, u64); 6] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
];

/// Parses a duration into milliseconds.
///
/// # Errors
/// A message naming what was found and what is expected.
pub fn parse_duration(value: &DurationValue) -> Result<u64, String> {
    match value {
        DurationValue::Secs(s) => s
            .checked_mul(1000)
            .ok_or_else(|| format!("{s} seconds is too long")),
        DurationValue::Text(text) => parse_text(text),
    }
}

fn parse_text(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a duration (expected e.g. 90s, 5m, 2h, 30d, 1h30m)");
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some((_, ms)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(if unit.is_empty() {
                format!("{text:?} needs a unit (ms, s, m, h, d or w), e.g. \"{n}s\"")
            } else {
                format!("{text:?} has an unknown unit {unit:?} (expected ms, s, m, h, d or w)")
            });
        };
        total = n
            .checked_mul(*ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{text:?} is too long"))?;
    }
    Ok(total)
}

/// Formats milliseconds in the largest units that divide it exactly: `300000` → `5m`,
/// `5400000` → `1h30m`, `1500` → `1s500ms`, `0` → `0s`.
pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in UNITS.iter().rev() {
        if rest >= *size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<u64, String> {
        parse_duration(&DurationValue::Text(s.into()))
    }

    #[test]
    fn parses_and_formats() {
        assert_eq!(p("90s"), Ok(90_000));
        assert_eq!(p("5m"), Ok(300_000));
        assert_eq!(p("1h30m"), Ok(5_400_000));
        assert_eq!(p("30d"), Ok(2_592_000_000));
        assert_eq!(p("250ms"), Ok(250));
        assert_eq!(parse_duration(&DurationValue::Secs(7)), Ok(7_000));
        for ms in [1, 250, 1_000, 90_000, 5_400_000, 2_592_000_000, 1_500] {
            assert_eq!(p(&format_duration(ms)), Ok(ms));
        }
        assert_eq!(format_duration(90_000), "1m30s");
        assert!(p("5").unwrap_err().contains("needs a unit"));
        assert!(p("5y").unwrap_err().contains("unknown unit"));
        assert!(p("").is_err());
        assert!(p("m5").is_err());
    }
}
