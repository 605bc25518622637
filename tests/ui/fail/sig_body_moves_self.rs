use steadfast::retry;

#[derive(Debug)]
struct E;

struct Client {
    name: String,
}

impl Client {
    #[retry(attempts = 3)]
    async fn into_name(self) -> Result<String, E> {
        Ok(self.name)
    }
}

fn main() {}
