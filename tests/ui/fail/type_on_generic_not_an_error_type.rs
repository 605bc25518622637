use steadfast::retry;

#[retry(on = std::io::Error)]
fn call<E: Default>() -> Result<(), E> {
    Err(E::default())
}

fn main() {
    let _ = call::<()>();
}
