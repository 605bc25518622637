//! Duration strings, `"250ms"`, `"2s"`, `"1.5s"`, `"1m30s"`, `"500us"`, parsed at run time
//! for configuration files.
//!
//! This is the attribute's parser (`retry-macros/src/duration.rs`) to the letter: the same
//! units, the same forms, the same limit (a `u64` of nanoseconds) and the same messages, so
//! that a policy written in a file means what the same text means in `#[retry(...)]`. The
//! tests below mirror the macro's; change the two together.

use std::time::Duration;

/// The accepted units, largest first, with their length in nanoseconds.
const UNITS: &[(&str, u128)] = &[
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("µs", 1_000),
    ("ns", 1),
];

const EXPECTED: &str = "expected a number followed by one of the units `h`, `m`, `s`, `ms`, `us`, `ns`, e.g. `\"250ms\"`, `\"1.5s\"` or `\"1m30s\"`";

/// Parses a duration; the error is the whole message, naming the text.
///
/// The result fits in a `u64` of nanoseconds (584 years), which is what the runtime computes in.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("empty duration; {EXPECTED}"));
    }
    if trimmed.starts_with('-') {
        return Err(format!("duration `{text}` is negative; durations count up from zero"));
    }
    let mut rest = trimmed;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit = unit.trim();
        if number.is_empty() {
            return Err(format!("duration `{text}` has a unit without a number; {EXPECTED}"));
        }
        if unit.is_empty() {
            return Err(format!("duration `{text}` has no unit; {EXPECTED}"));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!("unknown duration unit `{unit}` in `{text}`; {EXPECTED}"));
        };
        if number == "." || number.matches('.').count() > 1 {
            return Err(format!("duration `{text}` has a malformed number `{number}`; {EXPECTED}"));
        }
        let nanos = scaled(number, scale).ok_or_else(|| too_large(text))?;
        total = total.checked_add(nanos).ok_or_else(|| too_large(text))?;
        rest = after.trim_start();
    }
    if total > u128::from(u64::MAX) {
        return Err(too_large(text));
    }
    Ok(Duration::from_nanos(total as u64))
}

fn too_large(text: &str) -> String {
    format!("duration `{text}` is too large; the largest is about 584 years (`\"5124095h\"`)")
}

/// `number` (digits with at most one `.`) times `scale` nanoseconds, truncated to whole
/// nanoseconds; `None` on overflow.
fn scaled(number: &str, scale: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let mut nanos = whole.checked_mul(scale)?;
    let mut place = scale;
    for digit in fraction.chars() {
        place /= 10;
        nanos = nanos.checked_add(u128::from(digit.to_digit(10)?) * place)?;
    }
    Some(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const S: Duration = Duration::from_secs(1);

    fn ok(text: &str) -> Duration {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// The macro's `accepted_forms`, then the rest of what it accepts.
    #[test]
    fn accepted_forms() {
        for (text, expected) in [
            // The macro's table.
            ("250ms", 250 * MS),
            ("2s", 2 * S),
            ("1.5s", 1500 * MS),
            ("1m", 60 * S),
            ("1h", 3600 * S),
            ("1m30s", 90 * S),
            ("1m 30s", 90 * S),
            ("500us", Duration::from_micros(500)),
            ("0s", Duration::ZERO),
            (".5s", 500 * MS),
            ("5124095h", Duration::from_secs(5_124_095 * 3600)),
            // Every unit, every combination the grammar allows.
            ("500µs", Duration::from_micros(500)),
            ("750ns", Duration::from_nanos(750)),
            ("1h30m", 5400 * S),
            ("1h 2m 3s 4ms 5us 6ns", Duration::new(3723, 4_005_006)),
            ("2s500ms", 2500 * MS),
            ("1s1s", 2 * S),
            ("1.s", S),
            ("0.25m", 15 * S),
            ("1.5ms", Duration::from_micros(1500)),
            // Fractions below a nanosecond are truncated.
            ("1.9ns", Duration::from_nanos(1)),
            ("0.0000000019s", Duration::from_nanos(1)),
            // Surrounding and inner whitespace.
            ("  2s  ", 2 * S),
            ("2 s", 2 * S),
            ("\t1m\n30s", 90 * S),
            // Leading zeros.
            ("007s", 7 * S),
            // The largest: u64::MAX nanoseconds, to the nanosecond.
            ("18446744073709551615ns", Duration::from_nanos(u64::MAX)),
            ("18446744073.709551615s", Duration::from_nanos(u64::MAX)),
        ] {
            assert_eq!(ok(text), expected, "{text:?}");
        }
    }

    /// The macro's `rejected_forms_name_the_problem`, then the rest of what it rejects.
    #[test]
    fn rejected_forms_name_the_problem() {
        for (text, needle) in [
            // The macro's table.
            ("", "empty duration"),
            ("   ", "empty duration"),
            ("2x", "unknown duration unit `x`"),
            ("-1s", "negative"),
            ("1.2.3s", "malformed number `1.2.3`"),
            ("s", "unit without a number"),
            ("10", "no unit"),
            ("99999999999999999999999h", "too large"),
            ("5124096h", "too large"),
            (".s", "malformed number `.`"),
            // Units are lower case and spelt the one way.
            ("2S", "unknown duration unit `S`"),
            ("2sec", "unknown duration unit `sec`"),
            ("2 secs", "unknown duration unit `secs`"),
            ("1d", "unknown duration unit `d`"),
            ("1μs", "unknown duration unit `μs`"), // Greek mu, not the micro sign
            ("1ms2", "no unit"),
            ("1m30", "no unit"),
            // Signs, exponents and separators are not numbers.
            ("+1s", "unit without a number"),
            (" -1s", "negative"),
            ("1e3ms", "unknown duration unit `e`"),
            ("1,5s", "unknown duration unit `,`"),
            ("1_000ms", "unknown duration unit `_`"),
            ("inf s", "unit without a number"),
            // One nanosecond past u64::MAX, however it is written.
            ("18446744073709551616ns", "too large"),
            ("18446744073709551615ns 1ns", "too large"),
            ("18446744073.709551616s", "too large"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn messages_are_the_attributes() {
        let expected = "expected a number followed by one of the units `h`, `m`, `s`, `ms`, `us`, `ns`, e.g. `\"250ms\"`, `\"1.5s\"` or `\"1m30s\"`";
        assert_eq!(parse("2x").unwrap_err(), format!("unknown duration unit `x` in `2x`; {expected}"));
        assert_eq!(parse("-1s").unwrap_err(), "duration `-1s` is negative; durations count up from zero");
        assert_eq!(
            parse("5124096h").unwrap_err(),
            "duration `5124096h` is too large; the largest is about 584 years (`\"5124095h\"`)"
        );
    }
}
