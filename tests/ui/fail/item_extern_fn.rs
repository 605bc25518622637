use steadfast::retry;

#[retry(attempts = 3)]
extern "C" fn callback() -> Result<u32, ()> {
    Ok(42)
}

fn main() {
    let _ = callback();
}
