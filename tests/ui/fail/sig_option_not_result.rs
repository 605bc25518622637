use steadfast::retry;

#[retry(attempts = 3)]
fn lookup(key: &str) -> Option<u32> {
    key.parse().ok()
}

fn main() {
    let _ = lookup("1");
}
