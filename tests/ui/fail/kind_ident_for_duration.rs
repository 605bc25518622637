use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(max = SIXTY_SECONDS)]
async fn call() -> Result<(), E> {
    Ok(())
}

fn main() {
    let _ = call();
}
