use steadfast::retry;

#[derive(Debug)]
struct E;

struct Request {
    body: Vec<u8>,
}

#[retry(attempts = 3)]
async fn send(request: Request) -> Result<usize, E> {
    Ok(request.body.len())
}

fn main() {
    let _ = send(Request { body: Vec::new() });
}
