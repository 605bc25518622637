use std::fmt::Debug;
use steadfast::retry;

#[derive(Debug)]
struct E;

#[retry(attempts = 3, min = "1ms")]
async fn generic<T: Clone + Debug, const N: usize>(items: [T; N]) -> Result<Vec<T>, E> {
    Ok(items.to_vec())
}

#[retry(attempts = 3, min = "1ms")]
async fn with_where<T>(value: T) -> Result<String, E>
where
    T: Clone + ToString,
{
    Ok(value.to_string())
}

#[retry(attempts = 3, min = "1ms")]
async fn borrowed_out<'a>(items: &'a [u8]) -> Result<&'a u8, E> {
    items.first().ok_or(E)
}

#[retry(attempts = 3, min = "1ms")]
fn sync_generic<T: Default>() -> Result<T, E> {
    Ok(T::default())
}

struct Store<T>(Vec<T>);

impl<T: Clone + Send + Sync> Store<T> {
    #[retry(attempts = 3, min = "1ms")]
    async fn first(&self) -> Result<T, E> {
        self.0.first().cloned().ok_or(E)
    }
}

pub fn main() {
    let _ = generic::<u8, 2>;
    let _ = with_where::<u8>;
    let _ = borrowed_out;
    let _ = sync_generic::<u8>;
    let _ = Store::<u8>::first;
}
