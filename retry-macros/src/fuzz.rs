//! The macro never panics: random and mutated token streams, fed to the argument parser
//! and to the whole expansion, give a config or an error.
//!
//! CI runs 3,000 cases of each of the two properties below (6,000 inputs, in the debug
//! build of `cargo test --workspace`); `STEADFAST_FUZZ_CASES=200000 cargo test -p
//! retry-macros --release fuzz` runs a longer campaign.

use std::str::FromStr;

use proc_macro2::TokenStream;
use proptest::prelude::*;

use crate::{attr, expand};

/// Words the parser reacts to, and some it must reject.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "attempts", "backoff", "min", "base", "max", "factor", "step", "jitter", "hint_above_max", "deadline", "timeout", "on", "unless",
    "when", "if_ok", "retry_after", "log", "notify", "throttle", "breaker", "budget", "crate", "attempt", "retries",
    "=", "==", ",", "|", "||", ":", "::", "-", ".", "..", "<", ">", "->", "=>", "!", "#", "@", "&", "*", "?", ";", "(",
    ")", "[", "]", "{", "}", "0", "1", "-1", "3", "4294967296", "99999999999999999999999999999999999999999", "2.5",
    "1e309", "0.0", "5u8", "\"2s\"", "\"\"", "\"2x\"", "\"-1s\"", "\"1.2.3s\"", "\"s\"", "\"99999999999999999999h\"",
    "\"1m30s\"", "\"exp\"", "\"clamp\"", "\"expo\"", "\"full\"", "\"none\"", "\"off\"", "\"::steadfast\"", "\"not a path\"",
    "true", "'a'", "b\"x\"", "E", "std", "io", "Error", "Box", "dyn", "impl", "fn", "move", "async", "self", "Self",
    "e", "x", "_", "'static", "r#type", "Vec", "u8", "String",
];

/// Valid attributes to mutate.
const SEEDS: &[&str] = &[
    "attempts = 5, backoff = \"exp\", min = \"2s\", max = \"60s\", on = E",
    "backoff = \"linear\", base = \"1s\", step = \"500ms\", max = \"10s\", jitter = \"none\"",
    "when = |e: &E| e.is_transient(), if_ok = |v| v.is_empty(), retry_after = hint, notify = note",
    "timeout = \"1s\", deadline = \"1m\", log = \"off\", unless = A | B<C>, crate = \"::steadfast\"",
    "throttle = LIMIT, breaker = crate::BREAKER, budget = self::BUDGET, factor = 1.5",
];

/// Items to expand the arguments on.
const ITEMS: &[&str] = &[
    "async fn f(x: String, y: &mut u8) -> Result<u8, E> { Ok(1) }",
    "fn g<T: Clone>(t: T) -> Result<T, E> where T: Send { Ok(t) }",
    "async fn h(&mut self) -> Result<&u8, E> { todo!() }",
    "const fn c() -> u8 { 1 }",
    "fn d();",
    "struct S;",
    "async fn e() {}",
];

fn words() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(WORDS), 0..24).prop_map(|w| w.join(" "))
}

/// A valid attribute with tokens deleted, duplicated, swapped or replaced.
fn mutated() -> impl Strategy<Value = String> {
    (proptest::sample::select(SEEDS), proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..6))
        .prop_map(|(seed, edits)| {
            let mut tokens: Vec<String> = seed.split(' ').map(str::to_string).collect();
            for (op, a, b) in edits {
                if tokens.is_empty() {
                    break;
                }
                let (i, j) = (a % tokens.len(), b % tokens.len());
                match op % 4 {
                    0 => {
                        tokens.remove(i);
                    }
                    1 => tokens.insert(i, tokens[j].clone()),
                    2 => tokens.swap(i, j),
                    _ => tokens[i] = WORDS[b % WORDS.len()].to_string(),
                }
            }
            tokens.join(" ")
        })
}

fn cases() -> u32 {
    std::env::var("STEADFAST_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(3000)
}

/// The keyword and name an item declares: `("fn", "f")`, `("struct", "S")`.
fn declaration(item: TokenStream) -> Option<(String, String)> {
    let words: Vec<String> = item.into_iter().map(|t| t.to_string()).collect();
    let at = words.iter().position(|w| w == "fn" || w == "struct")?;
    Some((words[at].clone(), words.get(at + 1)?.clone()))
}

/// Whether `tokens`, at any depth, hold the keyword followed by the name.
fn declares(tokens: TokenStream, (keyword, name): &(String, String)) -> bool {
    let mut previous = String::new();
    for token in tokens {
        if let proc_macro2::TokenTree::Group(group) = &token {
            if declares(group.stream(), &(keyword.clone(), name.clone())) {
                return true;
            }
        }
        let text = token.to_string();
        if previous == *keyword && text == *name {
            return true;
        }
        previous = text;
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_and_mutated_arguments_never_panic(text in prop_oneof![words(), mutated()], item in proptest::sample::select(ITEMS)) {
        // Unbalanced delimiters are not token streams: the compiler never hands us those.
        if let Ok(args) = TokenStream::from_str(&text) {
            let _ = attr::parse(args.clone());
            let item = TokenStream::from_str(item).expect("items are valid token streams");
            let declared = declaration(item.clone()).expect("every item declares a name");
            let output = expand::retry(args, item);
            // Emitted under its own name, so that a mistake in the attribute is reported
            // once and not again at every use of the fn.
            prop_assert!(declares(output, &declared), "the item is always emitted: {declared:?}");
        }
    }

    #[test]
    fn random_items_never_panic(text in words()) {
        if let Ok(item) = TokenStream::from_str(&text) {
            let _ = expand::retry(TokenStream::new(), item);
        }
    }
}
