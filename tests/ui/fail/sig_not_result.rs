use steadfast::retry;

#[retry(attempts = 3)]
async fn count() -> u32 {
    42
}

fn main() {
    let _ = count();
}
