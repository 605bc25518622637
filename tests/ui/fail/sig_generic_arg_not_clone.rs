use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(attempts = 3)]
async fn send<T: AsRef<[u8]>>(body: T) -> Result<usize, E> {
    Ok(body.as_ref().len())
}

fn main() {
    let _ = send(vec![1u8]);
}
