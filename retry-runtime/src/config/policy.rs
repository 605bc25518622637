//! `Policy`, `Backoff` and `Jitter` from a file: the attribute's keys, names and checks.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::{deserialize_choice, invalid, once, read, show, Given, Key, Kind, Pick, Table};
use crate::{Backoff, HintAboveMax, Jitter, Policy};

/// The attribute's names, in the order of [`BACKOFF_VALUES`].
const BACKOFFS: &[&str] = &["exp", "fixed", "linear", "fibonacci", "none"];
const BACKOFF_VALUES: [Backoff; 5] =
    [Backoff::Exponential, Backoff::Fixed, Backoff::Linear, Backoff::Fibonacci, Backoff::None];

/// The attribute's names, in the order of [`JITTER_VALUES`].
const JITTERS: &[&str] = &["full", "equal", "decorrelated", "none"];
const JITTER_VALUES: [Jitter; 4] = [Jitter::Full, Jitter::Equal, Jitter::Decorrelated, Jitter::None];

/// The attribute's names, in the order of [`HINT_VALUES`].
const HINTS: &[&str] = &["give_up", "clamp", "ignore"];
const HINT_VALUES: [HintAboveMax; 3] = [HintAboveMax::GiveUp, HintAboveMax::Clamp, HintAboveMax::Ignore];

const ATTEMPTS: Key = Key::new(
    "attempts",
    Kind::Count {
        floor: 1,
        reason: "it counts every call including the first, so it must be at least 1",
        too_large: " (use `deadline` to bound a long retry)",
    },
    "attempts = 5",
);
const BACKOFF: Key = Key::new("backoff", Kind::Choice(BACKOFFS), "backoff = \"exp\"");
const MIN: Key = Key::new("min", Kind::Duration { nonzero: None }, "min = \"2s\"");
const BASE: Key = Key::new("base", Kind::Duration { nonzero: None }, "base = \"1s\"");
const MAX: Key = Key::new(
    "max",
    Kind::Duration { nonzero: Some("; to retry without sleeping use `backoff = \"none\"`") },
    "max = \"60s\"",
);
const FACTOR: Key = Key::new(
    "factor",
    Kind::Number { ok: grows, reason: "it must be a finite number greater than 1 (each delay grows by it)" },
    "factor = 1.5",
);
const STEP: Key = Key::new("step", Kind::Duration { nonzero: None }, "step = \"500ms\"");
const JITTER: Key = Key::new("jitter", Kind::Choice(JITTERS), "jitter = \"full\"");
const DEADLINE: Key = Key::new("deadline", Kind::Duration { nonzero: Some("") }, "deadline = \"2m\"");
const TIMEOUT: Key = Key::new("timeout", Kind::Duration { nonzero: Some("") }, "timeout = \"30s\"");
const HINT_ABOVE_MAX: Key = Key::new("hint_above_max", Kind::Choice(HINTS), "hint_above_max = \"clamp\"");

fn grows(factor: f64) -> bool {
    factor > 1.0 && factor.is_finite()
}

static POLICY: Table = Table {
    what: "a `Policy`",
    keys: &[ATTEMPTS, BACKOFF, MIN, BASE, MAX, FACTOR, STEP, JITTER, DEADLINE, TIMEOUT, HINT_ABOVE_MAX],
    names: &[
        "attempts",
        "backoff",
        "min",
        "base",
        "max",
        "factor",
        "step",
        "jitter",
        "deadline",
        "timeout",
        "hint_above_max",
    ],
    // The attribute's aliases that name a key of the policy.
    aliases: &[
        ("retries", "attempts"),
        ("max_attempts", "attempts"),
        ("max_retries", "attempts"),
        ("stop_after_attempt", "attempts"),
        ("times", "attempts"),
        ("wait", "backoff"),
        ("strategy", "backoff"),
        ("multiplier", "base"),
        ("initial", "base"),
        ("min_delay", "min"),
        ("max_delay", "max"),
        ("cap", "max"),
        ("stop_after_delay", "deadline"),
        ("stop_before_delay", "deadline"),
        ("total_timeout", "deadline"),
        ("exp_base", "factor"),
    ],
    elsewhere,
};

/// The attribute's keys that are not part of a policy.
fn elsewhere(name: &str) -> Option<String> {
    match name {
        "throttle" | "breaker" | "budget" => Some(format!(
            "a `Policy` holds no guards; read the {name} as a `{}` of its own and name it with `{name} = …` \
             on `#[retry]` or `.{name}(…)` on the builder",
            capitalised(name)
        )),
        "on" | "unless" | "when" | "if_ok" | "retry_after" | "log" | "notify" | "timer" | "wrap" | "fields"
        | "crate" | "policy" => {
            Some(format!("`{name}` is not part of a `Policy`; give it to `#[retry]` or the builder instead"))
        }
        _ => None,
    }
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// By the attribute's names: `"exp"`, `"fixed"`, `"linear"`, `"fibonacci"`, `"none"`.
impl<'de> Deserialize<'de> for Backoff {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(BACKOFF_VALUES[deserialize_choice(deserializer, &BACKOFF)?])
    }
}

/// By the attribute's names: `"full"`, `"equal"`, `"decorrelated"`, `"none"`.
impl<'de> Deserialize<'de> for Jitter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(JITTER_VALUES[deserialize_choice(deserializer, &JITTER)?])
    }
}

/// By the attribute's names: `"give_up"`, `"clamp"`, `"ignore"`.
impl<'de> Deserialize<'de> for HintAboveMax {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(HINT_VALUES[deserialize_choice(deserializer, &HINT_ABOVE_MAX)?])
    }
}

/// A table with the attribute's keys, each optional (the defaults are [`Policy::new`]'s) and
/// checked as the attribute checks them; see [`config`](crate::config).
impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Policy", POLICY.names, PolicyVisitor)
    }
}

struct PolicyVisitor;

/// What the file gave, before it is checked.
#[derive(Default)]
struct Raw {
    attempts: Option<u32>,
    backoff: Option<usize>,
    min: Option<Given>,
    base: Option<Given>,
    max: Option<Given>,
    factor: Option<f64>,
    step: Option<Given>,
    jitter: Option<usize>,
    deadline: Option<Given>,
    timeout: Option<Given>,
    hint_above_max: Option<usize>,
}

impl<'de> Visitor<'de> for PolicyVisitor {
    type Value = Policy;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a retry policy: a table of `attempts`, `backoff`, `min`, `max`, …")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Policy, A::Error> {
        let mut raw = Raw::default();
        while let Some(key) = POLICY.next_key(&mut map)? {
            match key.name {
                "attempts" => once(&mut raw.attempts, key, read(&mut map, key)?)?,
                "backoff" => once(&mut raw.backoff, key, read::<Pick, _>(&mut map, key)?.0)?,
                "min" => once(&mut raw.min, key, read(&mut map, key)?)?,
                "base" => once(&mut raw.base, key, read(&mut map, key)?)?,
                "max" => once(&mut raw.max, key, read(&mut map, key)?)?,
                "factor" => once(&mut raw.factor, key, read(&mut map, key)?)?,
                "step" => once(&mut raw.step, key, read(&mut map, key)?)?,
                "jitter" => once(&mut raw.jitter, key, read::<Pick, _>(&mut map, key)?.0)?,
                "deadline" => once(&mut raw.deadline, key, read(&mut map, key)?)?,
                "hint_above_max" => once(&mut raw.hint_above_max, key, read::<Pick, _>(&mut map, key)?.0)?,
                _ => once(&mut raw.timeout, key, read(&mut map, key)?)?,
            }
        }
        raw.check()
    }
}

impl Raw {
    /// The attribute's checks of one key against another (`retry-macros/src/valid.rs`, in
    /// its order; those of a single value were made as it was read), the first failure
    /// reported; then the policy the builder would make.
    fn check<E: de::Error>(self) -> Result<Policy, E> {
        // Bounds.
        let default = Policy::new();
        let (max, max_text) = match &self.max {
            Some(max) => (max.value, format!("`max` ({})", max.written())),
            None => (default.get_max(), format!("the default `max` of {}; raise `max`", show(default.get_max()))),
        };
        for (name, given) in [("min", &self.min), ("base", &self.base)] {
            if let Some(given) = given.as_ref().filter(|g| g.value > max) {
                return Err(invalid(name, format_args!("{} is larger than {max_text}", given.written())));
            }
        }

        // Combinations.
        let backoff = self.backoff.map_or(Backoff::Exponential, |i| BACKOFF_VALUES[i]);
        let only_with = |key: &str, value: Option<String>, shape: usize| -> Result<(), E> {
            let Some(value) = value else { return Ok(()) };
            if backoff == BACKOFF_VALUES[shape] {
                return Ok(());
            }
            let current = match self.backoff {
                Some(i) => format!("this policy uses `backoff = \"{}\"`", BACKOFFS[i]),
                None => format!("`backoff` is `\"exp\"` by default; add `backoff = \"{}\"`", BACKOFFS[shape]),
            };
            Err(invalid(
                key,
                format_args!("{value}; `{key}` only applies to `backoff = \"{}\"`, but {current}", BACKOFFS[shape]),
            ))
        };
        only_with("step", self.step.as_ref().map(Given::written), 2)?;
        only_with("factor", self.factor.map(|f| f.to_string()), 0)?;
        if backoff == Backoff::None {
            let given = [
                ("min", self.min.as_ref().map(Given::written)),
                ("base", self.base.as_ref().map(Given::written)),
                ("max", self.max.as_ref().map(Given::written)),
                ("jitter", self.jitter.map(|i| format!("\"{}\"", JITTERS[i]))),
            ];
            if let Some((key, Some(value))) = given.into_iter().find(|(_, value)| value.is_some()) {
                return Err(invalid(
                    key,
                    format_args!(
                        "{value}; `{key}` has no effect with `backoff = \"none\"`, which retries without sleeping; remove it"
                    ),
                ));
            }
        }

        // The builder's policy, setter by setter, so that it equals one built in code.
        let mut policy = default.backoff(backoff);
        if let Some(attempts) = self.attempts {
            policy = policy.attempts(attempts);
        }
        if let Some(jitter) = self.jitter {
            policy = policy.jitter(JITTER_VALUES[jitter]);
        }
        if let Some(min) = self.min {
            policy = policy.min(min.value);
        }
        if let Some(base) = self.base {
            policy = policy.base(base.value);
        }
        if let Some(max) = self.max {
            policy = policy.max(max.value);
        }
        if let Some(factor) = self.factor {
            policy = policy.factor(factor);
        }
        if let Some(step) = self.step {
            policy = policy.step(step.value);
        }
        if let Some(deadline) = self.deadline {
            policy = policy.deadline(deadline.value);
        }
        if let Some(timeout) = self.timeout {
            policy = policy.timeout(timeout.value);
        }
        if let Some(hint) = self.hint_above_max {
            policy = policy.hint_above_max(HINT_VALUES[hint]);
        }
        Ok(policy)
    }
}
