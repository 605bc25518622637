use steadfast::retry;

#[retry(attempts = 3)]
async fn fire_and_forget() {}

fn main() {
    let _ = fire_and_forget();
}
