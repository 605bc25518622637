use steadfast::retry;

#[retry(attempts = 3)]
const fn answer() -> Result<u32, ()> {
    Ok(42)
}

fn main() {
    let _ = answer();
}
