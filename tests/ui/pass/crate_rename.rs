//! A crate that re-exports steadfast points the generated paths at its re-export.

mod facade {
    pub use steadfast as retrying;
}

use facade::retrying::retry;

#[derive(Debug)]
struct E;

#[retry(attempts = 2, min = "1ms", crate = "crate::facade::retrying")]
async fn call() -> Result<(), E> {
    Ok(())
}

extern crate steadfast as renamed;

#[renamed::retry(attempts = 2, min = "1ms", crate = "::renamed")]
fn blocking() -> Result<(), E> {
    Ok(())
}

fn main() {
    drop(call());
    let _ = blocking();
}
