//! [`Decimal`]: an exact, arbitrary-precision decimal number for thresholds and sampled values.

use std::{fmt, str::FromStr};

use alloy_primitives::{I256, U256};
use bigdecimal::BigDecimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An exact decimal number (no float rounding): condition limits, sampled values, points.
///
/// Serialized as a string (`"2500.125"`); deserialized from a string, or a JSON/TOML integer.
/// Floats are accepted through their shortest round-trip text (`0.1` stays `0.1`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal(BigDecimal);

impl Decimal {
    /// Zero.
    pub fn zero() -> Self {
        Self(BigDecimal::from(0))
    }

    /// From an unsigned 256-bit integer scaled down by `decimals` (a token amount, a feed answer).
    pub fn from_u256(value: U256, decimals: u8) -> Self {
        Self::from_digits(&value.to_string(), decimals)
    }

    /// From a signed 256-bit integer scaled down by `decimals`.
    pub fn from_i256(value: I256, decimals: u8) -> Self {
        Self::from_digits(&value.to_string(), decimals)
    }

    fn from_digits(digits: &str, decimals: u8) -> Self {
        let int: bigdecimal::num_bigint::BigInt = digits
            .parse()
            .expect("integer Display output is a valid integer");
        Self(BigDecimal::new(int, i64::from(decimals)).normalized())
    }

    /// From an `f64`, through its shortest round-trip decimal text. `None` for NaN/infinite.
    pub fn from_f64(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        format!("{value}").parse().ok()
    }

    /// Whether the value is an integer.
    pub fn is_integer(&self) -> bool {
        self.0.is_integer()
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.0.sign() == bigdecimal::num_bigint::Sign::Minus
    }

    /// The underlying big decimal.
    pub fn as_big(&self) -> &BigDecimal {
        &self.0
    }
}

impl From<u64> for Decimal {
    fn from(v: u64) -> Self {
        Self(BigDecimal::from(v))
    }
}

impl From<i64> for Decimal {
    fn from(v: i64) -> Self {
        Self(BigDecimal::from(v))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.normalized();
        // Plain notation, never exponent form.
        if n.fractional_digit_count() <= 0 {
            write!(f, "{}", n.with_scale(0))
        } else {
            write!(f, "{}", n.to_plain_string())
        }
    }
}

/// The error for text that is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a decimal number such as 42 or -0.125, found {0:?}")]
pub struct ParseDecimalError(String);

impl FromStr for Decimal {
    type Err = ParseDecimalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let well_formed = {
            let body = t.strip_prefix(['-', '+']).unwrap_or(t);
            let (int, frac) = body.split_once('.').unwrap_or((body, ""));
            !(int.is_empty() && frac.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
                && !body.ends_with('.')
                && !body.starts_with('.')
        };
        // Exponent forms are accepted only as shortest float text (1e21) from from_f64.
        let exp_form = t.contains(['e', 'E']) && t.len() < 40;
        if !(well_formed || exp_form) {
            return Err(ParseDecimalError(s.to_owned()));
        }
        BigDecimal::from_str(t)
            .map(|d| Self(d.normalized()))
            .map_err(|_| ParseDecimalError(s.to_owned()))
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            U(u64),
            I(i64),
            F(f64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::U(v) => Ok(v.into()),
            Repr::I(v) => Ok(v.into()),
            Repr::F(v) => Self::from_f64(v)
                .ok_or_else(|| serde::de::Error::custom("expected a finite decimal number")),
            Repr::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_plain() {
        let a: Decimal = "2500.100".parse().unwrap();
        assert_eq!(a.to_string(), "2500.1");
        let b: Decimal = "100000000000000000000000000000000000000001"
            .parse()
            .unwrap();
        assert!(
            b > "100000000000000000000000000000000000000000"
                .parse()
                .unwrap()
        );
        assert_eq!(Decimal::from_f64(0.1).unwrap().to_string(), "0.1");
        assert_eq!(
            Decimal::from_u256(U256::from(250_012_345_678u64), 8).to_string(),
            "2500.12345678"
        );
        assert_eq!(
            Decimal::from_i256(I256::try_from(-5i64).unwrap(), 1).to_string(),
            "-0.5"
        );
        assert_eq!("1000".parse::<Decimal>().unwrap().to_string(), "1000");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "1.2.3", "--1", ".5", "5.", "0x10", "1,5"] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad:?}");
        }
    }
}
