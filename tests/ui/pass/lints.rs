#![deny(unused_qualifications, unused_mut, unused_variables, unused_imports, dead_code, clippy::all)]
#![deny(warnings, rust_2018_idioms, unreachable_pub, missing_docs, unused_parens)]
//! Generated code raises no lint of its own.

use steadfast::retry;

/// An error.
#[derive(Debug)]
pub struct E;

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("e")
    }
}

impl std::error::Error for E {}

/// Inner attributes of the body stay on the function.
#[retry(attempts = 3, min = "1ms", on = E, log = "debug")]
pub async fn documented(mut n: u32) -> Result<u32, E> {
    #![allow(clippy::needless_return)]
    n += 1;
    return Ok(n);
}

/// A blocking one.
#[retry(attempts = 3, backoff = "none")]
pub fn blocking(n: u32) -> Result<u32, E> {
    Ok(n)
}

fn main() {
    let _ = documented(1);
    let _ = blocking(1);
    let _ = conditions(1);
}

/// Every kind of condition at once: the generated match arms must not need parentheses
/// the lints would flag.
#[retry(attempts = 2, min = "1ms", on = E, unless = std::fmt::Error, when = |_: &E| true, if_ok = |v: &u32| *v == 0)]
pub async fn conditions(n: u32) -> Result<u32, E> {
    Ok(n)
}
