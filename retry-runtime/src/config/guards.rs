//! `Throttle`, `Breaker` and `Budget` from a file: each deserialization builds a fresh guard.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::{invalid, once, read, Given, Key, Kind, Of, Table};
use crate::timer::Clock;
use crate::{Breaker, Budget, Throttle};

fn nowhere(_: &str) -> Option<String> {
    None
}

/// A count of at least 1.
const POSITIVE: Kind = Kind::Count { floor: 1, reason: "it must be at least 1", too_large: "" };

/// A duration above zero.
const NONZERO: Kind = Kind::Duration { nonzero: Some("") };

// ---- Throttle ----

const PER_SECOND: Key = Key::new("per_second", POSITIVE, "per_second = 10");
const PER_MINUTE: Key = Key::new("per_minute", POSITIVE, "per_minute = 600");
const BURST: Key = Key::new("burst", POSITIVE, "burst = 5");

static THROTTLE: Table = Table {
    what: "a `Throttle`",
    keys: &[PER_SECOND, PER_MINUTE, BURST],
    names: &["per_second", "per_minute", "burst"],
    aliases: &[
        ("rps", "per_second"),
        ("per_sec", "per_second"),
        ("rpm", "per_minute"),
        ("per_min", "per_minute"),
        ("burst_size", "burst"),
        ("max_burst", "burst"),
    ],
    elsewhere: nowhere,
};

/// `{ per_second = 10 }` or `{ per_minute = 600 }` (exactly one), and an optional `burst`;
/// every count at least 1. A fresh throttle, on the clock `C`.
impl<'de, C: Clock> Deserialize<'de> for Throttle<C> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Throttle", THROTTLE.names, Of::<Throttle<C>>(PhantomData))
    }
}

impl<'de, C: Clock> Visitor<'de> for Of<Throttle<C>> {
    type Value = Throttle<C>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a throttle: a table of `per_second` or `per_minute`, and `burst`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Throttle<C>, A::Error> {
        let (mut per_second, mut per_minute, mut burst) = (None, None, None);
        while let Some(key) = THROTTLE.next_key(&mut map)? {
            let n: u32 = read(&mut map, key)?;
            let slot = match key.name {
                "per_second" => &mut per_second,
                "per_minute" => &mut per_minute,
                _ => &mut burst,
            };
            once(slot, key, n)?;
        }
        let throttle = match (per_second, per_minute) {
            (Some(n), None) => Throttle::per_second(n),
            (None, Some(n)) => Throttle::per_minute(n),
            (Some(_), Some(n)) => {
                return Err(invalid(
                    "per_minute",
                    format_args!("{n}; give either `per_second` or `per_minute`, not both"),
                ))
            }
            (None, None) => {
                return Err(de::Error::custom(
                    "missing field `per_second` or `per_minute`: a `Throttle` needs a rate, e.g. `per_second = 10`",
                ))
            }
        };
        let throttle = match burst {
            Some(b) => throttle.burst(b),
            None => throttle,
        };
        Ok(throttle.clock::<C>())
    }
}

// ---- Breaker ----

const FAILURES: Key = Key::new("failures", POSITIVE, "failures = 5");
const COOLDOWN: Key = Key::new("cooldown", NONZERO, "cooldown = \"30s\"");
const PROBES: Key = Key::new("probes", POSITIVE, "probes = 2");
const NAME: Key = Key::new("name", Kind::Text, "name = \"payments\"");
const HUNG_AFTER: Key = Key::new("hung_after", NONZERO, "hung_after = \"10s\"");

static BREAKER: Table = Table {
    what: "a `Breaker`",
    keys: &[FAILURES, COOLDOWN, PROBES, NAME, HUNG_AFTER],
    names: &["failures", "cooldown", "probes", "name", "hung_after"],
    // resilience4j's, Polly's and gobreaker's names.
    aliases: &[
        ("failure_threshold", "failures"),
        ("threshold", "failures"),
        ("max_failures", "failures"),
        ("consecutive_failures", "failures"),
        ("wait_duration_in_open_state", "cooldown"),
        ("reset_timeout", "cooldown"),
        ("break_duration", "cooldown"),
        ("open_duration", "cooldown"),
        ("permitted_number_of_calls_in_half_open_state", "probes"),
        ("half_open_max_calls", "probes"),
        ("max_requests", "probes"),
    ],
    elsewhere: nowhere,
};

/// `{ failures = 5, cooldown = "30s" }`, with optional `probes`, `name` and `hung_after`;
/// counts at least 1, durations above zero. A fresh, closed breaker, on the clock `C`.
///
/// [`Breaker::named`] takes a `&'static str`, so the name is kept for the rest of the
/// program: each distinct name is leaked once, in a process-wide set, and a breaker read
/// again with the same name (a reloaded config) shares that string instead of leaking
/// another.
impl<'de, C: Clock> Deserialize<'de> for Breaker<C> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Breaker", BREAKER.names, Of::<Breaker<C>>(PhantomData))
    }
}

impl<'de, C: Clock> Visitor<'de> for Of<Breaker<C>> {
    type Value = Breaker<C>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a circuit breaker: a table of `failures`, `cooldown`, `probes`, `name` and `hung_after`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Breaker<C>, A::Error> {
        let (mut failures, mut cooldown, mut probes, mut name, mut hung_after) = (None, None, None, None, None);
        while let Some(key) = BREAKER.next_key(&mut map)? {
            match key.name {
                "failures" | "probes" => {
                    let n: u32 = read(&mut map, key)?;
                    once(if key.name == "failures" { &mut failures } else { &mut probes }, key, n)?;
                }
                "cooldown" | "hung_after" => {
                    let given: Given = read(&mut map, key)?;
                    once(if key.name == "cooldown" { &mut cooldown } else { &mut hung_after }, key, given)?;
                }
                _ => once(&mut name, key, read::<String, _>(&mut map, key)?)?,
            }
        }
        let failures = failures.ok_or_else(|| de::Error::missing_field("failures"))?;
        let cooldown = cooldown.ok_or_else(|| de::Error::missing_field("cooldown"))?;
        let mut breaker = Breaker::new(failures, cooldown.value);
        if let Some(probes) = probes {
            breaker = breaker.probes(probes);
        }
        if let Some(hung_after) = hung_after {
            breaker = breaker.hung_after(hung_after.value);
        }
        if let Some(name) = name {
            breaker = breaker.named(leak_once(name));
        }
        Ok(breaker.clock::<C>())
    }
}

/// `name` for the rest of the program: leaked the first time it is seen, shared after.
fn leak_once(name: String) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    if name.is_empty() {
        return "";
    }
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

// ---- Budget ----

const MAX_TOKENS: Key = Key::new(
    "max_tokens",
    Kind::Count { floor: 0, reason: "it cannot be negative (0 means no retry ever)", too_large: "" },
    "max_tokens = 10",
);
const RATIO: Key = Key::new(
    "ratio",
    Kind::Number {
        ok: refills,
        reason: "it must be a finite number of at least 0.001 \
                 (each success gives back `ratio` of a token, kept to three decimals)",
    },
    "ratio = 0.1",
);

/// At least the budget's smallest step, a thousandth of a token.
fn refills(ratio: f64) -> bool {
    ratio.is_finite() && ratio >= 0.001
}

static BUDGET: Table = Table {
    what: "a `Budget`",
    keys: &[MAX_TOKENS, RATIO],
    names: &["max_tokens", "ratio"],
    // gRPC's service config spells them so.
    aliases: &[("maxTokens", "max_tokens"), ("tokenRatio", "ratio"), ("token_ratio", "ratio")],
    elsewhere: nowhere,
};

/// `{ max_tokens = 10, ratio = 0.1 }` (gRPC's `retryThrottling`), both required:
/// `max_tokens` at least 0 (0: no retry ever), `ratio` a finite number of at least 0.001
/// (the budget keeps three decimals). A fresh, full budget.
impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Budget", BUDGET.names, Of::<Budget>(PhantomData))
    }
}

impl<'de> Visitor<'de> for Of<Budget> {
    type Value = Budget;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a retry budget: a table of `max_tokens` and `ratio`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Budget, A::Error> {
        let (mut max_tokens, mut ratio) = (None, None);
        while let Some(key) = BUDGET.next_key(&mut map)? {
            if key.name == "max_tokens" {
                once(&mut max_tokens, key, read(&mut map, key)?)?;
            } else {
                once(&mut ratio, key, read(&mut map, key)?)?;
            }
        }
        let max_tokens = max_tokens.ok_or_else(|| de::Error::missing_field("max_tokens"))?;
        let ratio = ratio.ok_or_else(|| de::Error::missing_field("ratio"))?;
        Ok(Budget::new(max_tokens, ratio))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_leaked_once() {
        let first = leak_once("payments".to_owned());
        let again = leak_once(String::from("payments"));
        assert!(std::ptr::eq(first, again));
        assert_eq!(leak_once(String::new()), "");
    }
}
