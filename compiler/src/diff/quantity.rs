//! Kubernetes resource quantities (`1000m`, `1Gi`, `1e3`) compared by value, so `1000m`
//! equals `1` and `1024Mi` equals `1Gi`, as the API server itself treats them.
//!
//! It only parses and compares; it never reformats a quantity for output (the diff shows
//! what the render wrote). Quantities outside the exact range kept here (about 38 digits)
//! are not parsed, and the caller falls back to comparing the text.

use serde_json::Value;

/// An exact quantity: `digits / 10^scale`, reduced so equal values have equal forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    digits: i128,
    scale: u32,
}

/// Parses a quantity in the Kubernetes grammar: sign, decimal number, then an optional
/// binary suffix (Ki..Ei), decimal suffix (n, u, m, k, M..E) or exponent (e3, E-2).
pub fn parse(text: &str) -> Option<Quantity> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    let mut digits: i128 = 0;
    let mut scale: i64 = 0;
    let mut after_point = false;
    for c in number.chars() {
        if c == '.' {
            after_point = true;
            continue;
        }
        digits = digits
            .checked_mul(10)?
            .checked_add(i128::from(c.to_digit(10)?))?;
        if after_point {
            scale += 1;
        }
    }
    // Binary suffixes multiply by powers of 1024; decimal ones shift the scale.
    let (binary_power, decimal_shift): (u32, i64) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        s if s.starts_with(['e', 'E']) => {
            let exponent: i64 = s[1..].parse().ok()?;
            if exponent.abs() > 40 {
                return None;
            }
            (0, exponent)
        }
        _ => return None,
    };
    digits = digits.checked_mul(1i128.checked_shl(binary_power)?)?;
    scale -= decimal_shift;
    while scale < 0 {
        digits = digits.checked_mul(10)?;
        scale += 1;
    }
    while scale > 0 && digits % 10 == 0 {
        digits /= 10;
        scale -= 1;
    }
    if digits == 0 {
        scale = 0;
    }
    Some(Quantity {
        digits: if negative { -digits } else { digits },
        scale: u32::try_from(scale).ok()?,
    })
}

impl Quantity {
    /// The quantity times `factor`, rounded up to a whole number (a CPU quantity in
    /// millicores with factor 1000; memory in MiB with `1 / 2^20` as `per`): what the
    /// scheduler would count, never less. None when it does not fit.
    pub fn ceil_scaled(self, factor: i128, per: i128) -> Option<i128> {
        let denominator = 10i128.checked_pow(self.scale)?.checked_mul(per)?;
        let numerator = self.digits.checked_mul(factor)?;
        Some(numerator.div_euclid(denominator) + i128::from(numerator.rem_euclid(denominator) != 0))
    }
}

/// Whether two JSON values are the same quantity. Numbers count too: a render may write
/// `cpu: 1` where the server returns `cpu: "1"`.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (as_quantity(a), as_quantity(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn as_quantity(v: &Value) -> Option<Quantity> {
    match v {
        Value::String(s) => parse(s),
        Value::Number(n) => parse(&n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_values_in_different_units_are_equal() {
        for (a, b) in [
            ("1000m", "1"),
            ("1024Mi", "1Gi"),
            ("0.5", "500m"),
            ("1k", "1000"),
            ("1e3", "1k"),
            ("1.5Gi", "1536Mi"),
            ("100M", "100000k"),
            ("0", "0m"),
            ("+1", "1"),
        ] {
            assert_eq!(parse(a), parse(b), "{a} vs {b}");
            assert!(parse(a).is_some(), "{a} parses");
        }
    }

    #[test]
    fn different_values_differ() {
        for (a, b) in [("1Gi", "1G"), ("100m", "1"), ("1Ki", "1k"), ("-1", "1")] {
            assert_ne!(parse(a), parse(b), "{a} vs {b}");
        }
    }

    #[test]
    fn not_quantities() {
        for s in ["", "abc", "1.2.3", "1Xi", "Gi", ".", "1e999", "25%"] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn numbers_compare_with_strings() {
        assert!(same_value(&json!(1), &json!("1000m")));
        assert!(same_value(&json!(0.5), &json!("500m")));
        assert!(!same_value(&json!(true), &json!("1")));
    }
}
