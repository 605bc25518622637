//! Duration literals: `"250ms"`, `"2s"`, `"1.5s"`, `"1m30s"`, `"500us"`, parsed at compile time.

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

/// Unit names from other languages and crates, with the one this attribute takes.
const ALIASES: &[(&str, &str)] = &[
    ("sec", "s"),
    ("secs", "s"),
    ("second", "s"),
    ("seconds", "s"),
    ("S", "s"),
    ("min", "m"),
    ("mins", "m"),
    ("minute", "m"),
    ("minutes", "m"),
    ("hr", "h"),
    ("hrs", "h"),
    ("hour", "h"),
    ("hours", "h"),
    ("msec", "ms"),
    ("msecs", "ms"),
    ("millis", "ms"),
    ("millisecond", "ms"),
    ("milliseconds", "ms"),
    ("MS", "ms"),
    ("micros", "us"),
    ("microseconds", "us"),
    ("nanos", "ns"),
    ("nanoseconds", "ns"),
];

const EXPECTED: &str = "expected a number followed by one of the units `h`, `m`, `s`, `ms`, `us`, `ns`, e.g. `\"250ms\"`, `\"1.5s\"` or `\"1m30s\"`";

/// Parses a duration; the error is the whole message, ready to be spanned on the literal.
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
            if let Some((_, short)) = ALIASES.iter().find(|(alias, _)| *alias == unit) {
                return Err(format!(
                    "unknown duration unit `{unit}` in `{text}`; did you mean `\"{number}{short}\"`? The units are \
                     `h`, `m`, `s`, `ms`, `us`, `ns`"
                ));
            }
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

    fn ok(text: &str) -> Duration {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(ok("2s"), Duration::from_secs(2));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("1m"), Duration::from_secs(60));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1m 30s"), Duration::from_secs(90));
        assert_eq!(ok("500us"), Duration::from_micros(500));
        assert_eq!(ok("500µs"), Duration::from_micros(500));
        assert_eq!(ok("750ns"), Duration::from_nanos(750));
        assert_eq!(ok("1ms500us250ns"), Duration::from_nanos(1_500_250));
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("5124095h"), Duration::from_secs(5_124_095 * 3600));
    }

    #[test]
    fn rejected_forms_name_the_problem() {
        for (text, needle) in [
            ("", "empty duration"),
            ("   ", "empty duration"),
            ("2x", "unknown duration unit `x`"),
            ("2sec", "did you mean `\"2s\"`?"),
            ("1.5 seconds", "did you mean `\"1.5s\"`?"),
            ("250millis", "did you mean `\"250ms\"`?"),
            ("1m30secs", "did you mean `\"30s\"`?"),
            ("-1s", "negative"),
            ("1.2.3s", "malformed number `1.2.3`"),
            ("s", "unit without a number"),
            ("10", "no unit"),
            ("99999999999999999999999h", "too large"),
            ("5124096h", "too large"),
            (".s", "malformed number `.`"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
