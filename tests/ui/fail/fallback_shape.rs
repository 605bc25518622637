use steadfast::retry;

#[derive(Debug)]
struct E;

impl From<steadfast::Elapsed> for E {
    fn from(_: steadfast::Elapsed) -> Self {
        E
    }
}

// A fallback gets the fn's error and returns its result; these return an `Option`, take
// the wrong error, and return the wrong `Ok`.
#[retry(attempts = 3, fallback = |_| Some(0))]
async fn option() -> Result<u32, E> {
    Ok(1)
}

fn from_string(message: String) -> Result<u32, E> {
    let _ = message;
    Err(E)
}

#[retry(attempts = 3, hedge = "300ms", fallback = from_string)]
async fn wrong_error() -> Result<u32, E> {
    Ok(1)
}

#[retry(attempts = 3, fallback = |_| Ok("cached"))]
fn wrong_value() -> Result<u32, E> {
    Ok(1)
}

fn main() {}
