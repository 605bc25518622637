use steadfast::retry;

#[derive(Debug)]
struct E;

struct Cache {
    items: Vec<u8>,
}

impl Cache {
    #[retry(attempts = 3)]
    async fn first(&mut self) -> Result<&u8, E> {
        self.items.push(1);
        self.items.first().ok_or(E)
    }
}

fn main() {}
