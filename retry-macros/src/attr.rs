//! The attribute's arguments: `key = value, …` in, spanned values out.
//!
//! Every key is one entry of [`KEYS`], which gives the kind of value it takes; parsing
//! goes on after a bad key or value so that one compile reports every mistake.

use std::time::Duration;

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, LitStr, Token, Type};

use crate::duration;
use crate::errors::Errors;

/// What a key's value must look like.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// An integer literal.
    Count,
    /// A duration string literal: `"2s"`.
    Duration,
    /// A number literal: `2` or `1.5`.
    Number,
    /// One of a fixed set of string literals.
    Choice(&'static [&'static str]),
    /// A type, or several separated by `|`.
    Types,
    /// A path to a function, or a closure.
    Hook,
    /// An expression: a guard, a policy.
    Expr,
    /// A path to a type.
    TypePath,
    /// A string literal holding a path.
    CratePath,
    /// No value: the key alone.
    Flag,
    /// A parenthesised list of `name = value` event fields: `fields(url = %url)`.
    Fields,
    /// A duration string, or a percentile string: `"300ms"`, `"p95"`.
    Hedge,
}

/// Every key, by name in [`KEYS`]; `config.rs` gives each its typed field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Id {
    Attempts,
    Backoff,
    Min,
    Base,
    Max,
    Factor,
    Step,
    Jitter,
    HintAboveMax,
    Deadline,
    Timeout,
    FirstItemTimeout,
    IdleTimeout,
    Resume,
    Hedge,
    Fallback,
    On,
    Unless,
    When,
    IfOk,
    RetryAfter,
    Log,
    Notify,
    Throttle,
    Breaker,
    Budget,
    Policy,
    Timer,
    Wrap,
    Fields,
    Crate,
}

pub(crate) struct Key {
    pub(crate) name: &'static str,
    pub(crate) id: Id,
    pub(crate) kind: Kind,
    /// Shown in "write e.g. …" help.
    pub(crate) example: &'static str,
}

pub(crate) const BACKOFFS: &[&str] = &["exp", "fixed", "linear", "fibonacci", "none"];
pub(crate) const JITTERS: &[&str] = &["full", "equal", "decorrelated", "none"];
pub(crate) const HINTS: &[&str] = &["give_up", "clamp", "ignore"];
pub(crate) const LOGS: &[&str] = &["error", "warn", "info", "debug", "trace", "off"];

/// Every key the attribute accepts: the one list that matching, messages and
/// did-you-mean read.
pub(crate) const KEYS: &[Key] = &[
    Key { name: "attempts", id: Id::Attempts, kind: Kind::Count, example: "attempts = 5" },
    Key { name: "backoff", id: Id::Backoff, kind: Kind::Choice(BACKOFFS), example: "backoff = \"exp\"" },
    Key { name: "min", id: Id::Min, kind: Kind::Duration, example: "min = \"2s\"" },
    Key { name: "base", id: Id::Base, kind: Kind::Duration, example: "base = \"1s\"" },
    Key { name: "max", id: Id::Max, kind: Kind::Duration, example: "max = \"60s\"" },
    Key { name: "factor", id: Id::Factor, kind: Kind::Number, example: "factor = 1.5" },
    Key { name: "step", id: Id::Step, kind: Kind::Duration, example: "step = \"500ms\"" },
    Key { name: "jitter", id: Id::Jitter, kind: Kind::Choice(JITTERS), example: "jitter = \"full\"" },
    Key {
        name: "hint_above_max",
        id: Id::HintAboveMax,
        kind: Kind::Choice(HINTS),
        example: "hint_above_max = \"clamp\"",
    },
    Key { name: "deadline", id: Id::Deadline, kind: Kind::Duration, example: "deadline = \"2m\"" },
    Key { name: "timeout", id: Id::Timeout, kind: Kind::Duration, example: "timeout = \"30s\"" },
    Key {
        name: "first_item_timeout",
        id: Id::FirstItemTimeout,
        kind: Kind::Duration,
        example: "first_item_timeout = \"10s\"",
    },
    Key { name: "idle_timeout", id: Id::IdleTimeout, kind: Kind::Duration, example: "idle_timeout = \"30s\"" },
    Key { name: "resume", id: Id::Resume, kind: Kind::Hook, example: "resume = |last| client.stream_after(last.seq)" },
    Key { name: "hedge", id: Id::Hedge, kind: Kind::Hedge, example: "hedge = \"300ms\"" },
    Key { name: "fallback", id: Id::Fallback, kind: Kind::Hook, example: "fallback = |e| Ok(cached())" },
    Key { name: "on", id: Id::On, kind: Kind::Types, example: "on = RateLimited | Unavailable" },
    Key { name: "unless", id: Id::Unless, kind: Kind::Types, example: "unless = Unauthorized" },
    Key { name: "when", id: Id::When, kind: Kind::Hook, example: "when = |e| e.is_transient()" },
    Key { name: "if_ok", id: Id::IfOk, kind: Kind::Hook, example: "if_ok = |v| v.is_empty()" },
    Key { name: "retry_after", id: Id::RetryAfter, kind: Kind::Hook, example: "retry_after = |e| e.retry_after()" },
    Key { name: "log", id: Id::Log, kind: Kind::Choice(LOGS), example: "log = \"warn\"" },
    Key { name: "notify", id: Id::Notify, kind: Kind::Hook, example: "notify = |a| eprintln!(\"{:?}\", a.delay())" },
    Key { name: "throttle", id: Id::Throttle, kind: Kind::Expr, example: "throttle = API_LIMIT" },
    Key { name: "breaker", id: Id::Breaker, kind: Kind::Expr, example: "breaker = self.breaker" },
    Key { name: "budget", id: Id::Budget, kind: Kind::Expr, example: "budget = RETRY_BUDGET" },
    Key { name: "policy", id: Id::Policy, kind: Kind::Expr, example: "policy = self.retry_policy" },
    Key { name: "timer", id: Id::Timer, kind: Kind::TypePath, example: "timer = steadfast::timer::Tokio" },
    Key { name: "wrap", id: Id::Wrap, kind: Kind::Flag, example: "wrap" },
    Key { name: "fields", id: Id::Fields, kind: Kind::Fields, example: "fields(url = %url, model = self.model)" },
    Key { name: "crate", id: Id::Crate, kind: Kind::CratePath, example: "crate = \"::my_facade::steadfast\"" },
];

/// Names users bring from tenacity, backon and friends, with the key that does the job.
const ALIASES: &[(&str, &str)] = &[
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
    ("retry_if", "when"),
    ("retry_if_exception_type", "on"),
    ("retry_if_result", "if_ok"),
    ("before_sleep", "notify"),
    ("before_sleep_log", "log"),
    ("stop_after_delay", "deadline"),
    ("stop_before_delay", "deadline"),
    ("total_timeout", "deadline"),
    ("exclude", "unless"),
    ("exp_base", "factor"),
    ("executor", "timer"),
    ("runtime", "timer"),
    ("hedging_delay", "hedge"),
    ("hedging", "hedge"),
    ("retry_error_callback", "fallback"),
    ("fallback_method", "fallback"),
];

/// One parsed value.
pub(crate) enum Value {
    /// Signed so that `attempts = -1` can be named in its error.
    Count(i128),
    Duration(Duration),
    Number(f64),
    /// The index of the choice in the key's list.
    Choice(usize),
    Types(Vec<Type>),
    Expr(Expr),
    TypePath(syn::Path),
    CratePath(syn::Path),
    Flag,
    Fields(Vec<Field>),
    Hedge(Hedge),
}

/// When a hedged fn sends its next copy.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Hedge {
    /// After this long with no answer.
    After(Duration),
    /// After this percentile (in (0, 100)) of the fn's recent latencies.
    Percentile(f64),
}

/// One event field a `fields(…)` list adds.
pub(crate) struct Field {
    pub(crate) name: Ident,
    /// How the value is recorded: `%` by `Display`, `?` by `Debug`, else as a tracing
    /// `Value`.
    pub(crate) sigil: Sigil,
    pub(crate) value: Expr,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Sigil {
    Display,
    Debug,
    Value,
}

/// The names every event has: a field of the user's cannot take one.
pub(crate) const EVENT_FIELDS: &[&str] = &["message", "fn", "attempt", "max_attempts", "delay_ms", "reason", "error"];

/// How many fields a `fields(…)` list may add (the runtime keeps that many slots).
pub(crate) const MAX_FIELDS: usize = 8;

/// A key with its value and the spans to point errors at.
pub(crate) struct Arg {
    pub(crate) key: &'static Key,
    pub(crate) ident: Ident,
    pub(crate) value: Value,
    /// The value's tokens, for spans.
    pub(crate) tokens: TokenStream,
}

/// The arguments that parsed, in source order, each key at most once.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) args: Vec<Arg>,
}

impl Args {
    fn get(&self, id: Id) -> Option<&Arg> {
        self.args.iter().find(|arg| arg.key.id == id)
    }
}

/// Parses the attribute's tokens. Never panics: whatever the tokens, the result is the
/// arguments that made sense plus an error for each that did not.
pub(crate) fn parse(tokens: TokenStream) -> (Args, Errors) {
    let mut args = Args::default();
    let mut errors = Errors::default();
    let parser = |input: ParseStream<'_>| {
        parse_list(input, &mut args, &mut errors);
        Ok(())
    };
    if let Err(error) = parser.parse2(tokens) {
        errors.push(error);
    }
    (args, errors)
}

fn parse_list(input: ParseStream<'_>, args: &mut Args, errors: &mut Errors) {
    while !input.is_empty() {
        if input.peek(Token![,]) {
            errors.at(input.span(), "expected a key before `,`, e.g. `attempts = 5`");
            let _ = input.parse::<Token![,]>();
            continue;
        }
        parse_one(input, args, errors);
        if input.is_empty() {
            break;
        }
        match input.parse::<Token![,]>() {
            Ok(_) => {}
            Err(_) => {
                errors.at(input.span(), "expected `,` between arguments, e.g. `attempts = 5, max = \"60s\"`");
                skip_to_comma(input);
            }
        }
    }
}

fn parse_one(input: ParseStream<'_>, args: &mut Args, errors: &mut Errors) {
    let ident = match input.call(Ident::parse_any) {
        Ok(ident) => ident,
        Err(_) => {
            errors.at(input.span(), format!("expected a key such as `attempts`; the keys are: {}", key_list()));
            skip_to_comma(input);
            return;
        }
    };
    let name = ident.to_string();
    let key = KEYS.iter().find(|key| key.name == name);
    if let Some(key) = key.filter(|key| key.kind == Kind::Flag) {
        if input.peek(Token![=]) {
            let _ = input.parse::<Token![=]>();
            let value = skip_to_comma(input);
            errors.spanned(&value, format!("`{name}` takes no value; write `{name}` alone"));
        } else {
            push(args, errors, key, ident, Value::Flag, TokenStream::new());
        }
        return;
    }
    if let Some(key) = key.filter(|key| key.kind == Kind::Fields) {
        if input.peek(syn::token::Paren) {
            let tokens: TokenStream = match input.parse::<proc_macro2::Group>() {
                Ok(group) => group.stream(),
                Err(error) => return errors.push(error),
            };
            match fields(tokens.clone()) {
                Ok(list) => push(args, errors, key, ident, Value::Fields(list), tokens),
                Err(error) => errors.push(error),
            }
        } else {
            let _ = input.parse::<Token![=]>();
            skip_to_comma(input);
            errors.spanned(&ident, format!("`fields` takes a list in parentheses: `{}`", key.example));
        }
        return;
    }
    if !input.peek(Token![=]) {
        match key {
            Some(key) if input.is_empty() || input.peek(Token![,]) => {
                errors.spanned(&ident, format!("missing value for `{name}`; write e.g. `{}`", key.example));
            }
            Some(key) => {
                errors.at(input.span(), format!("expected `=` after `{name}`, e.g. `{}`", key.example));
            }
            None => errors.spanned(&ident, unknown_key(&name)),
        }
        skip_to_comma(input);
        return;
    }
    let _ = input.parse::<Token![=]>();
    let Some(key) = key else {
        errors.spanned(&ident, unknown_key(&name));
        skip_to_comma(input);
        return;
    };
    let fork = input.fork();
    let start = input.cursor();
    match parse_value(&fork, key) {
        Ok(value) => {
            input.advance_to(&fork);
            let tokens = tokens_between(start, input.cursor());
            push(args, errors, key, ident, value, tokens);
        }
        Err(error) => {
            let value = skip_to_comma(input);
            match error {
                // Point at the start of the value, not wherever inside it syn gave up.
                Unparsable(message) => match value.into_iter().next() {
                    Some(first) => errors.at(first.span(), message),
                    None => errors.at(ident.span(), message),
                },
                AtToken(error) => errors.push(error),
            }
        }
    }
}

/// `name = %value, name = ?value, name = value`: names that are idents, not an event's
/// own and not repeated, at most [`MAX_FIELDS`].
fn fields(tokens: TokenStream) -> syn::Result<Vec<Field>> {
    let parser = |input: ParseStream<'_>| {
        let mut list: Vec<Field> = Vec::new();
        let mut errors = Errors::default();
        while !input.is_empty() {
            let name: Ident = input.call(Ident::parse_any)?;
            let text = name.to_string();
            if EVENT_FIELDS.contains(&text.as_str()) {
                errors.spanned(&name, format!("`{text}` is a field every retry event has; name yours otherwise"));
            } else if list.iter().any(|f| f.name == text) {
                errors.spanned(&name, format!("duplicate field `{text}`"));
            }
            if !input.peek(Token![=]) {
                return Err(syn::Error::new(
                    name.span(),
                    format!("expected `=` after `{text}`, e.g. `{text} = %{text}`"),
                ));
            }
            let _: Token![=] = input.parse()?;
            let sigil = if input.peek(Token![%]) {
                let _: Token![%] = input.parse()?;
                Sigil::Display
            } else if input.peek(Token![?]) {
                let _: Token![?] = input.parse()?;
                Sigil::Debug
            } else {
                Sigil::Value
            };
            let value: Expr = input.parse()?;
            list.push(Field { name, sigil, value });
            if input.is_empty() {
                break;
            }
            let _: Token![,] = input.parse()?;
        }
        if list.len() > MAX_FIELDS {
            errors.spanned(&list[MAX_FIELDS].name, format!("at most {MAX_FIELDS} fields; this is one too many"));
        }
        errors.finish().map(|()| list)
    };
    parser.parse2(tokens)
}

/// Records an argument, or the error of a key given twice.
fn push(args: &mut Args, errors: &mut Errors, key: &'static Key, ident: Ident, value: Value, tokens: TokenStream) {
    let name = key.name;
    if let Some(first) = args.get(key.id) {
        let mut error = syn::Error::new_spanned(&ident, format!("duplicate key `{name}`; each key may be given once"));
        error.combine(syn::Error::new_spanned(&first.ident, format!("`{name}` is first given here")));
        errors.push(error);
    } else {
        args.args.push(Arg { key, ident, value, tokens });
    }
}

/// Why a value was rejected.
enum ValueError {
    /// Already spanned on the offending token.
    AtToken(syn::Error),
    /// syn could not parse it as the kind the key takes: span the whole value.
    Unparsable(String),
}

use ValueError::{AtToken, Unparsable};

impl From<syn::Error> for ValueError {
    fn from(error: syn::Error) -> Self {
        AtToken(error)
    }
}

/// The tokens from `start` up to (not including) `end`.
fn tokens_between(start: syn::buffer::Cursor<'_>, end: syn::buffer::Cursor<'_>) -> TokenStream {
    let mut tokens = TokenStream::new();
    let mut cursor = start;
    while cursor != end {
        match cursor.token_tree() {
            Some((tree, next)) => {
                tokens.extend([tree]);
                cursor = next;
            }
            None => break,
        }
    }
    tokens
}

/// Error recovery: drop everything up to the next top-level `,`; returns what was dropped.
fn skip_to_comma(input: ParseStream<'_>) -> TokenStream {
    let mut skipped = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        match input.parse::<TokenTree>() {
            Ok(tree) => skipped.extend([tree]),
            Err(_) => break,
        }
    }
    skipped
}

fn parse_value(input: ParseStream<'_>, key: &'static Key) -> Result<Value, ValueError> {
    let name = key.name;
    let value = match key.kind {
        Kind::Count => match input.parse::<Expr>()? {
            Expr::Lit(syn::ExprLit { lit: Lit::Int(int), .. }) => Value::Count(int_value(&int)?),
            Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) => match *expr {
                Expr::Lit(syn::ExprLit { lit: Lit::Int(int), .. }) => Value::Count(-int_value(&int)?),
                other => return Err(wrong_kind(&other, key, "an integer").into()),
            },
            other => return Err(wrong_kind(&other, key, "an integer").into()),
        },
        Kind::Duration => {
            let lit = string(input, key, "a duration string")?;
            Value::Duration(duration::parse(&lit.value()).map_err(|msg| syn::Error::new(lit.span(), msg))?)
        }
        Kind::Number => match input.parse::<Expr>()? {
            Expr::Lit(syn::ExprLit { lit, .. }) => Value::Number(number(&lit, key)?),
            Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) => match *expr {
                Expr::Lit(syn::ExprLit { lit, .. }) => Value::Number(-number(&lit, key)?),
                other => return Err(wrong_kind(&other, key, "a number").into()),
            },
            other => return Err(wrong_kind(&other, key, "a number").into()),
        },
        Kind::Choice(choices) => {
            let lit = string(input, key, "a string")?;
            let text = lit.value();
            match choices.iter().position(|c| *c == text) {
                Some(index) => Value::Choice(index),
                None => {
                    let list = choices.iter().map(|c| format!("`\"{c}\"`")).collect::<Vec<_>>().join(", ");
                    let hint = suggest(&text, choices.iter().copied())
                        .map(|s| format!("; did you mean `\"{s}\"`?"))
                        .unwrap_or_default();
                    return Err(syn::Error::new(
                        lit.span(),
                        format!("unknown {name} `\"{text}\"`; expected one of: {list}{hint}"),
                    )
                    .into());
                }
            }
        }
        Kind::Types => {
            if input.peek(Lit) {
                let lit: Lit = input.parse()?;
                return Err(wrong_kind(&lit, key, "a type").into());
            }
            let mut types = vec![parse_type(input, key)?];
            while input.peek(Token![|]) && !input.peek(Token![||]) {
                let _: Token![|] = input.parse()?;
                types.push(parse_type(input, key)?);
            }
            Value::Types(types)
        }
        Kind::Hook => {
            let expr = parse_expr(input, key, "a function path or a closure")?;
            if let Expr::Lit(lit) = &expr {
                return Err(wrong_kind(lit, key, "a function path or a closure").into());
            }
            Value::Expr(expr)
        }
        Kind::Expr => {
            let what = if key.id == Id::Policy { "a `Policy` expression" } else { "an expression naming a guard" };
            let expr = parse_expr(input, key, what)?;
            match expr {
                Expr::Lit(lit) => return Err(wrong_kind(&lit, key, what).into()),
                Expr::Closure(closure) => return Err(wrong_kind(&closure, key, what).into()),
                expr => Value::Expr(expr),
            }
        }
        Kind::TypePath => {
            if input.peek(Lit) {
                let lit: Lit = input.parse()?;
                return Err(wrong_kind(&lit, key, "a path to a type").into());
            }
            match input.parse::<syn::Path>() {
                Ok(path) => Value::TypePath(path),
                Err(_) => {
                    return Err(Unparsable(format!("expected a path to a type for `{name}`, e.g. `{}`", key.example)))
                }
            }
        }
        Kind::Hedge => {
            let lit = string(input, key, "a duration or a percentile string")?;
            Value::Hedge(hedge(&lit)?)
        }
        Kind::Flag => Value::Flag,
        // Parsed by `parse_one`, which never hands a `fields` key here.
        Kind::Fields => Value::Flag,
        Kind::CratePath => {
            let lit = string(input, key, "a string holding a path")?;
            let path = lit.parse::<syn::Path>().map_err(|_| {
                syn::Error::new(
                    lit.span(),
                    format!("`crate` must name a path, e.g. `crate = \"::steadfast\"`; `{}` is not one", lit.value()),
                )
            })?;
            Value::CratePath(path)
        }
    };
    if !input.is_empty() && !input.peek(Token![,]) {
        if input.peek(Ident::peek_any) && input.peek2(Token![=]) {
            let next = input.call(Ident::parse_any).map_err(ValueError::from)?;
            return Err(syn::Error::new(
                next.span(),
                format!("expected `,` before `{next}`: separate the arguments with commas"),
            )
            .into());
        }
        return Err(syn::Error::new(
            input.span(),
            format!("unexpected tokens after the value of `{name}`; write e.g. `{}`", key.example),
        )
        .into());
    }
    Ok(value)
}

/// `"300ms"` or `"p95"`, `"p99.9"`.
fn hedge(lit: &LitStr) -> syn::Result<Hedge> {
    let text = lit.value();
    let Some(number) = text.trim().strip_prefix('p') else {
        return duration::parse(&text).map(Hedge::After).map_err(|msg| {
            syn::Error::new(
                lit.span(),
                format!("{msg}; `hedge` also takes a percentile of recent latencies, e.g. `hedge = \"p95\"`"),
            )
        });
    };
    match number.parse::<f64>() {
        Ok(p) if p > 0.0 && p < 100.0 && !number.starts_with(['+', '-']) => Ok(Hedge::Percentile(p)),
        _ => Err(syn::Error::new(
            lit.span(),
            format!(
                "`hedge = \"{text}\"` is not a percentile: write `p` and a number above 0 and below 100, \
                 e.g. `\"p95\"` or `\"p99.9\"` (or a duration, e.g. `\"300ms\"`)"
            ),
        )),
    }
}

fn int_value(int: &syn::LitInt) -> syn::Result<i128> {
    if !int.suffix().is_empty() {
        return Err(syn::Error::new(
            int.span(),
            format!("write the number without a suffix: `{}`", int.base10_digits()),
        ));
    }
    int.base10_parse::<i128>().map_err(|_| {
        syn::Error::new(
            int.span(),
            format!("`{}` is too large; attempts must fit in a `u32` (at most 4294967295)", int.base10_digits()),
        )
    })
}

fn number(lit: &Lit, key: &Key) -> syn::Result<f64> {
    match lit {
        Lit::Int(int) => int.base10_parse::<f64>(),
        Lit::Float(float) => float.base10_parse::<f64>(),
        other => Err(wrong_kind(other, key, "a number")),
    }
}

fn string(input: ParseStream<'_>, key: &Key, what: &str) -> Result<LitStr, ValueError> {
    if input.peek(LitStr) {
        return Ok(input.parse()?);
    }
    let expr = parse_expr(input, key, what)?;
    Err(wrong_kind(&expr, key, what).into())
}

fn parse_type(input: ParseStream<'_>, key: &Key) -> Result<Type, ValueError> {
    input.parse::<Type>().map_err(|_| {
        Unparsable(format!(
            "expected a type for `{}`, e.g. `{}`; to decide with a predicate use `when = |e| …`",
            key.name, key.example
        ))
    })
}

fn parse_expr(input: ParseStream<'_>, key: &Key, what: &str) -> Result<Expr, ValueError> {
    input.parse::<Expr>().map_err(|_| Unparsable(format!("expected {what} for `{}`, e.g. `{}`", key.name, key.example)))
}

/// "expected X for `key`, found Y; write Z", spanned on the value, with the fix built from
/// the value itself where one is obvious.
fn wrong_kind(found: &dyn quote::ToTokens, key: &Key, expected: &str) -> syn::Error {
    let tokens = found.to_token_stream();
    let what = describe(&tokens);
    let name = key.name;
    let fix = match (key.kind, syn::parse2::<Lit>(tokens.clone())) {
        (Kind::Count, Ok(Lit::Str(s))) if s.value().trim().parse::<u32>().is_ok() => {
            format!("write `{name} = {}`, without quotes", s.value().trim())
        }
        (Kind::Number, Ok(Lit::Str(s))) if s.value().trim().parse::<f64>().is_ok() => {
            format!("write `{name} = {}`, without quotes", s.value().trim())
        }
        (Kind::Duration, Ok(Lit::Int(n))) => format!(
            "durations are strings with a unit: write `{name} = \"{0}s\"` or `{name} = \"{0}ms\"`",
            n.base10_digits()
        ),
        (Kind::Duration, Ok(Lit::Float(n))) => {
            format!("durations are strings with a unit: write `{name} = \"{}s\"`", n.base10_digits())
        }
        (Kind::Types | Kind::TypePath, Ok(Lit::Str(s))) if syn::parse_str::<Type>(&s.value()).is_ok() => {
            format!("write `{name} = {}`, without quotes", s.value())
        }
        (Kind::Choice(choices), _) => {
            let list = choices.iter().map(|c| format!("`\"{c}\"`")).collect::<Vec<_>>().join(", ");
            format!("write one of: {list}")
        }
        _ => format!("write e.g. `{}`", key.example),
    };
    syn::Error::new(tokens.span(), format!("expected {expected} for `{name}`, found {what}; {fix}"))
}

fn describe(tokens: &TokenStream) -> String {
    match syn::parse2::<Lit>(tokens.clone()) {
        Ok(Lit::Str(s)) => format!("the string `\"{}\"`", s.value()),
        Ok(Lit::Int(i)) => format!("the integer `{}`", i.base10_digits()),
        Ok(Lit::Float(f)) => format!("the number `{}`", f.base10_digits()),
        Ok(Lit::Bool(b)) => format!("`{}`", b.value),
        Ok(_) => "a literal".to_string(),
        Err(_) => match syn::parse2::<Expr>(tokens.clone()) {
            Ok(Expr::Closure(_)) => "a closure".to_string(),
            Ok(Expr::Path(_)) => format!("the path `{}`", compact(tokens)),
            _ => format!("`{}`", compact(tokens)),
        },
    }
}

fn compact(tokens: &TokenStream) -> String {
    let text = tokens.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

fn key_list() -> String {
    KEYS.iter().map(|k| format!("`{}`", k.name)).collect::<Vec<_>>().join(", ")
}

fn unknown_key(name: &str) -> String {
    let alias = ALIASES.iter().find(|(alias, _)| *alias == name).map(|(_, key)| *key);
    match alias.or_else(|| suggest(name, KEYS.iter().map(|k| k.name))) {
        Some(key) => format!("unknown key `{name}`; did you mean `{key}`?"),
        None => format!("unknown key `{name}`; expected one of: {}", key_list()),
    }
}

/// The closest candidate, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors_of(tokens: TokenStream) -> String {
        let (_, errors) = parse(tokens);
        match errors.finish() {
            Ok(()) => String::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"),
        }
    }

    #[test]
    fn parses_every_kind() {
        let (args, errors) = parse(quote!(
            attempts = 5, backoff = "linear", min = "2s", max = "1m", factor = 1.5, step = "250ms",
            jitter = "none", on = A | B<C>, when = |e| e.is_x(), throttle = self.limit, crate = "::t",
            timer = my::Timer, wrap
        ));
        assert!(errors.is_empty(), "{:?}", errors.finish().err().map(|e| e.to_string()));
        assert!(matches!(args.get(Id::Attempts).unwrap().value, Value::Count(5)));
        assert!(matches!(args.get(Id::Backoff).unwrap().value, Value::Choice(2)));
        assert!(matches!(args.get(Id::Max).unwrap().value, Value::Duration(d) if d == Duration::from_secs(60)));
        assert!(matches!(args.get(Id::Factor).unwrap().value, Value::Number(f) if f == 1.5));
        assert!(matches!(&args.get(Id::On).unwrap().value, Value::Types(t) if t.len() == 2));
        assert!(matches!(args.get(Id::When).unwrap().value, Value::Expr(_)));
        assert!(matches!(args.get(Id::Throttle).unwrap().value, Value::Expr(Expr::Field(_))));
        assert!(matches!(args.get(Id::Crate).unwrap().value, Value::CratePath(_)));
        assert!(matches!(args.get(Id::Timer).unwrap().value, Value::TypePath(_)));
        assert!(matches!(args.get(Id::Wrap).unwrap().value, Value::Flag));
    }

    #[test]
    fn every_key_is_listed_once() {
        for (i, key) in KEYS.iter().enumerate() {
            assert!(KEYS[i + 1..].iter().all(|other| other.name != key.name && other.id != key.id), "{}", key.name);
        }
    }

    #[test]
    fn reports_every_mistake_at_once() {
        let message = errors_of(quote!(attempt = 5, max = 60, on = "x", attempts = 3, attempts = 4));
        assert!(message.contains("unknown key `attempt`; did you mean `attempts`?"), "{message}");
        assert!(message.contains("expected a duration string for `max`, found the integer `60`"), "{message}");
        assert!(message.contains("expected a type for `on`, found the string `\"x\"`"), "{message}");
        assert!(message.contains("duplicate key `attempts`"), "{message}");
    }

    #[test]
    fn tenacity_names_point_to_our_keys() {
        assert!(errors_of(quote!(stop_after_attempt = 3)).contains("did you mean `attempts`?"));
        assert!(errors_of(quote!(multiplier = "1s")).contains("did you mean `base`?"));
    }

    #[test]
    fn unknown_choice_lists_the_valid_ones() {
        let message = errors_of(quote!(backoff = "expo"));
        assert!(message.contains("expected one of: `\"exp\"`, `\"fixed\"`"), "{message}");
        assert!(message.contains("did you mean `\"exp\"`?"), "{message}");
    }

    #[test]
    fn missing_values_and_separators() {
        assert!(errors_of(quote!(attempts)).contains("missing value for `attempts`"));
        assert!(errors_of(quote!(attempts: 5)).contains("expected `=` after `attempts`"));
        assert!(errors_of(quote!(attempts = 5 max = "1s")).contains("expected `,` before `max`"));
        assert!(errors_of(quote!(attempts = 5 6)).contains("unexpected tokens after the value of `attempts`"));
        assert!(errors_of(quote!(, attempts = 5)).contains("expected a key before `,`"));
        assert!(errors_of(quote!(wrap = true)).contains("`wrap` takes no value"));
    }
}
