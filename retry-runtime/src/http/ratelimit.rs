//! [`rate_limits`]: where a client stands against the server's rate limits, read from the
//! headers the AI APIs (and the IETF draft) send with every response.

use std::time::{Duration, SystemTime};

use ::http::{HeaderMap, HeaderValue};

use super::{decimal, decimal_nanos, nanos_to_duration, MAX_RETRY_AFTER, NANOS_PER_SECOND};

/// One limit as the server reports it: how many units (requests or tokens) the window
/// holds, how many are left, and how long until it is full again. A part the server did
/// not send, or sent in a form that means "unknown", is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quota {
    /// The most the window holds (`x-ratelimit-limit-requests`, `q` of
    /// `RateLimit-Policy`). Never zero: Azure's `0` and `-1` mean "unknown".
    pub limit: Option<u64>,
    /// What is left now (`x-ratelimit-remaining-tokens`, `r` of `RateLimit`).
    pub remaining: Option<u64>,
    /// How long until the window is full again (`x-ratelimit-reset-requests: 6m0s`, an
    /// Anthropic reset time minus now, `t` of `RateLimit`); at most a day.
    pub reset: Option<Duration>,
}

impl Quota {
    /// Whether the server said nothing usable about this limit.
    pub fn is_unknown(&self) -> bool {
        self.limit.is_none() && self.remaining.is_none() && self.reset.is_none()
    }
}

/// What a response's headers say about the server's rate limits, per kind of limit.
///
/// Read by [`rate_limits`]; the adaptive throttle
/// ([`AdaptiveThrottle`](crate::guard::AdaptiveThrottle)) paces calls by it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// Requests per window.
    pub requests: Quota,
    /// Tokens per window (input and output together).
    pub tokens: Quota,
    /// Anthropic's input-token limit.
    pub input_tokens: Quota,
    /// Anthropic's output-token limit.
    pub output_tokens: Quota,
}

impl RateLimits {
    /// Whether the headers held no rate-limit information at all.
    pub fn is_empty(&self) -> bool {
        [self.requests, self.tokens, self.input_tokens, self.output_tokens].iter().all(Quota::is_unknown)
    }
}

/// Reads the server's rate limits from a response's headers.
///
/// - OpenAI (and Azure OpenAI): `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`,
///   resets as Go durations (`1s`, `6m0s`, `1.5s`, `20ms`);
/// - Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,
///   remaining,reset}`, resets as RFC 3339 times (measured against the wall clock);
/// - the IETF httpapi draft: `RateLimit-Policy: "default";q=100;w=60` and `RateLimit:
///   "default";r=42;t=17` (structured fields; policies counting requests, the most
///   restrictive one when there are several).
///
/// Where several name the same part, OpenAI's wins, then Anthropic's, then the IETF's.
/// A malformed value, a negative one, Azure's `-1` and a limit of `0` are taken as absent;
/// a reset more than a day away too. Nothing here panics.
///
/// ```
/// use std::time::Duration;
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-ratelimit-limit-requests", "60".parse().unwrap());
/// headers.insert("x-ratelimit-remaining-requests", "59".parse().unwrap());
/// headers.insert("x-ratelimit-reset-requests", "1s".parse().unwrap());
/// headers.insert("x-ratelimit-reset-tokens", "6m0s".parse().unwrap());
/// let limits = steadfast::http::rate_limits(&headers);
/// assert_eq!(limits.requests.remaining, Some(59));
/// assert_eq!(limits.tokens.reset, Some(Duration::from_secs(360)));
/// ```
pub fn rate_limits(headers: &HeaderMap) -> RateLimits {
    rate_limits_at(headers, SystemTime::now)
}

/// [`rate_limits`] with the wall clock passed in (read only for an Anthropic reset).
pub(crate) fn rate_limits_at(headers: &HeaderMap, now: impl Fn() -> SystemTime) -> RateLimits {
    let openai = |names: Names| Quota {
        limit: limit(headers.get(names.limit)),
        remaining: count(headers.get(names.remaining)),
        reset: headers.get(names.reset).and_then(reset_duration),
    };
    let anthropic = |names: Names| Quota {
        limit: limit(headers.get(names.limit)),
        remaining: count(headers.get(names.remaining)),
        reset: headers.get(names.reset).and_then(|v| reset_time(v, now())),
    };
    RateLimits {
        requests: openai(OPENAI_REQUESTS).or(anthropic(ANTHROPIC_REQUESTS)).or_else(|| ietf(headers)),
        tokens: openai(OPENAI_TOKENS).or(anthropic(ANTHROPIC_TOKENS)),
        input_tokens: anthropic(ANTHROPIC_INPUT_TOKENS),
        output_tokens: anthropic(ANTHROPIC_OUTPUT_TOKENS),
    }
}

/// The headers of one limit, one per part of its [`Quota`]. Static, as `rate_limits` runs
/// on every response the adaptive throttle learns from.
struct Names {
    limit: &'static str,
    remaining: &'static str,
    reset: &'static str,
}

const OPENAI_REQUESTS: Names = Names {
    limit: "x-ratelimit-limit-requests",
    remaining: "x-ratelimit-remaining-requests",
    reset: "x-ratelimit-reset-requests",
};
const OPENAI_TOKENS: Names = Names {
    limit: "x-ratelimit-limit-tokens",
    remaining: "x-ratelimit-remaining-tokens",
    reset: "x-ratelimit-reset-tokens",
};
const ANTHROPIC_REQUESTS: Names = Names {
    limit: "anthropic-ratelimit-requests-limit",
    remaining: "anthropic-ratelimit-requests-remaining",
    reset: "anthropic-ratelimit-requests-reset",
};
const ANTHROPIC_TOKENS: Names = Names {
    limit: "anthropic-ratelimit-tokens-limit",
    remaining: "anthropic-ratelimit-tokens-remaining",
    reset: "anthropic-ratelimit-tokens-reset",
};
const ANTHROPIC_INPUT_TOKENS: Names = Names {
    limit: "anthropic-ratelimit-input-tokens-limit",
    remaining: "anthropic-ratelimit-input-tokens-remaining",
    reset: "anthropic-ratelimit-input-tokens-reset",
};
const ANTHROPIC_OUTPUT_TOKENS: Names = Names {
    limit: "anthropic-ratelimit-output-tokens-limit",
    remaining: "anthropic-ratelimit-output-tokens-remaining",
    reset: "anthropic-ratelimit-output-tokens-reset",
};

impl Quota {
    /// Each part from `self`, or else from `other`.
    fn or(self, other: Quota) -> Quota {
        Quota {
            limit: self.limit.or(other.limit),
            remaining: self.remaining.or(other.remaining),
            reset: self.reset.or(other.reset),
        }
    }

    /// [`or`](Self::or), making `other` only when `self` lacks a part: with all three
    /// from `self`, `or` would return `self` whatever `other` held.
    fn or_else(self, other: impl FnOnce() -> Quota) -> Quota {
        let complete = self.limit.is_some() && self.remaining.is_some() && self.reset.is_some();
        if complete {
            self
        } else {
            self.or(other())
        }
    }
}

/// A count: `1*DIGIT`, surrounding whitespace allowed. A sign (Azure's `-1`) is unknown.
fn count(value: Option<&HeaderValue>) -> Option<u64> {
    let text = value?.to_str().ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // More digits than a u64 holds is garbage, not a limit.
    text.parse().ok()
}

/// A limit: a count above zero (Azure sends `0` for a limit it does not report).
fn limit(value: Option<&HeaderValue>) -> Option<u64> {
    count(value).filter(|&n| n > 0)
}

/// OpenAI's reset: a Go duration (`6m0s`, `1.5s`, `12ms`, `1h2m3.5s`), or a bare number of
/// seconds, as some compatible servers send.
fn reset_duration(value: &HeaderValue) -> Option<Duration> {
    let text = std::str::from_utf8(value.as_bytes()).ok()?.trim();
    let duration = go_duration(text).or_else(|| decimal(text, NANOS_PER_SECOND))?;
    (duration <= MAX_RETRY_AFTER).then_some(duration)
}

/// Anthropic's reset: an RFC 3339 time; one already past is zero.
fn reset_time(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let at = SystemTime::from(at);
    let duration = at.duration_since(now).unwrap_or(Duration::ZERO);
    (duration <= MAX_RETRY_AFTER).then_some(duration)
}

/// A Go `time.Duration` string: an optional `+`, then one or more decimal numbers each with
/// a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`); `0` alone is zero. A negative
/// duration is no reset, so `-` is refused.
pub(crate) fn go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let (number, tail) = rest.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        // Go accepts `1.` and `.5`, but not a lone `.`, nor two dots.
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
            return None;
        }
        let unit_len =
            tail.char_indices().find(|(_, c)| c.is_ascii_digit() || *c == '.').map_or(tail.len(), |(i, _)| i);
        let (unit, tail) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SECOND,
            "m" => 60 * NANOS_PER_SECOND,
            "h" => 3600 * NANOS_PER_SECOND,
            _ => return None,
        };
        total = total.saturating_add(decimal_nanos(whole, fraction, scale));
        rest = tail;
    }
    Some(nanos_to_duration(total))
}

/// The IETF draft's fields, for the most restrictive policy that counts requests: the one
/// that leaves the lowest rate (`r / t`) until its reset.
fn ietf(headers: &HeaderMap) -> Quota {
    let Some(state) = headers.get("ratelimit").and_then(sf_list) else { return Quota::default() };
    let policies = headers.get("ratelimit-policy").and_then(sf_list).unwrap_or_default();
    let mut best: Option<(f64, Quota)> = None;
    for (name, params) in &state {
        let policy = policies.iter().find(|(n, _)| n == name).map(|(_, p)| p);
        // A policy counting anything but requests (`qu="content-bytes"`) is not ours.
        if policy.and_then(|p| string_param(p, "qu")).is_some_and(|unit| unit != "requests") {
            continue;
        }
        let remaining = int_param(params, "r");
        let reset = int_param(params, "t").map(Duration::from_secs).filter(|t| *t <= MAX_RETRY_AFTER);
        let limit = policy.and_then(|p| int_param(p, "q")).filter(|&q| q > 0);
        let Some(remaining) = remaining else { continue };
        let rate = remaining as f64 / reset.map_or(1.0, |t| t.as_secs_f64().max(1.0));
        let quota = Quota { limit, remaining: Some(remaining), reset };
        if best.as_ref().is_none_or(|(r, _)| rate < *r) {
            best = Some((rate, quota));
        }
    }
    best.map(|(_, quota)| quota).unwrap_or_default()
}

/// A structured-field list of items: each item's name (a string or a token) and its
/// parameters. `None` when the field does not parse.
fn sf_list(value: &HeaderValue) -> Option<Vec<(String, sfv::Parameters)>> {
    let list: sfv::List = sfv::Parser::new(value.as_bytes()).parse().ok()?;
    let items = list.into_iter().filter_map(|entry| match entry {
        sfv::ListEntry::Item(item) => {
            let name = match &item.bare_item {
                sfv::BareItem::String(s) => s.as_str().to_owned(),
                sfv::BareItem::Token(t) => t.as_str().to_owned(),
                _ => return None,
            };
            Some((name, item.params))
        }
        sfv::ListEntry::InnerList(_) => None,
    });
    Some(items.collect())
}

/// A non-negative integer parameter.
fn int_param(params: &sfv::Parameters, key: &str) -> Option<u64> {
    let value = params.iter().find(|(k, _)| k.as_str() == key)?.1.as_integer()?;
    u64::try_from(i64::from(value)).ok()
}

/// A string (or token) parameter.
fn string_param<'a>(params: &'a sfv::Parameters, key: &str) -> Option<&'a str> {
    match params.iter().find(|(k, _)| k.as_str() == key)?.1 {
        sfv::BareItem::String(s) => Some(s.as_str()),
        sfv::BareItem::Token(t) => Some(t.as_str()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "ratelimit_tests.rs"]
mod tests;
