//! [`IdempotencyKey`]: one name for a request across all its attempts.

use std::fmt;

use std::str::FromStr;

use ::http::header::{HeaderName, HeaderValue};

/// A key that names one logical request across its attempts, sent as the
/// `Idempotency-Key` header so that a server which honours it (Stripe, many payment and
/// AI APIs) carries out a retried POST once, however many attempts reach it.
///
/// Make the key *before* the retried call and pass it in, so every attempt sends the same
/// one; a key made inside the retried body would be new on each attempt and protect
/// nothing. With a key the server deduplicates, every transient failure is safe to retry
/// again ([`Failure::is_transient`](super::Failure::is_transient)); without one, a
/// non-idempotent call retries only what proves it was not processed
/// ([`Failure::is_unprocessed`](super::Failure::is_unprocessed)).
///
/// ```no_run
/// use steadfast::http::{self, Failure, IdempotencyKey};
/// use steadfast::retry;
///
/// /// Charges once, however many attempts it takes.
/// pub async fn charge(client: &reqwest::Client, cents: u64) -> Result<String, Failure> {
///     charge_once(client, cents, &IdempotencyKey::new()).await
/// }
///
/// #[retry(attempts = 4, max = "10s", when = Failure::is_transient, retry_after = Failure::retry_after)]
/// async fn charge_once(client: &reqwest::Client, cents: u64, key: &IdempotencyKey) -> Result<String, Failure> {
///     let response = client
///         .post("https://payments.example.invalid/v1/charges")
///         .header(IdempotencyKey::HEADER, key.as_str())
///         .body(format!("amount={cents}"))
///         .send()
///         .await?;
///     Ok(http::error_for_status(response).await?.text().await?)
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The header's name: `idempotency-key` (HTTP field names are case-insensitive).
    pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");

    /// A fresh random key: a version 4 UUID, as the OpenAI and Stripe clients send.
    pub fn new() -> Self {
        // The thread's cryptographic RNG, never the seeded one of `testing::seed`: keys
        // must differ between processes.
        let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        Self(uuid.hyphenated().to_string())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as a header value.
    pub fn header_value(&self) -> HeaderValue {
        // Cannot fail: both constructors (`new`, `from_str`) make visible ASCII only, which
        // every header value may hold.
        HeaderValue::from_str(&self.0).expect("an idempotency key is visible ASCII")
    }
}

impl Default for IdempotencyKey {
    fn default() -> Self {
        Self::new()
    }
}

/// A key of the caller's own (an order id, say): 1 to 255 visible ASCII characters
/// (Stripe's limit; a space or a non-ASCII letter would not survive every proxy).
///
/// ```
/// use steadfast::http::IdempotencyKey;
///
/// let key: IdempotencyKey = "order-1842".parse().unwrap();
/// assert_eq!(key.as_str(), "order-1842");
/// let bad = "naïve key".parse::<IdempotencyKey>().unwrap_err();
/// assert_eq!(bad.to_string(), "idempotency key `naïve key`: a key is 1 to 255 visible ASCII characters (no spaces)");
/// ```
impl FromStr for IdempotencyKey {
    type Err = InvalidKey;

    fn from_str(key: &str) -> Result<Self, InvalidKey> {
        let valid = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(key.to_owned()))
        } else {
            Err(InvalidKey(key.chars().take(300).collect()))
        }
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<IdempotencyKey> for HeaderValue {
    fn from(key: IdempotencyKey) -> Self {
        key.header_value()
    }
}

/// A key [`IdempotencyKey::from_str`] refused; shows the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKey(String);

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "idempotency key `{}`: a key is 1 to 255 visible ASCII characters (no spaces)", self.0)
    }
}

impl std::error::Error for InvalidKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_keys_are_uuids_and_differ() {
        let (a, b) = (IdempotencyKey::new(), IdempotencyKey::new());
        assert_ne!(a, b);
        let text = a.as_str();
        assert_eq!(text.len(), 36);
        assert_eq!(text.as_bytes()[14], b'4', "version 4: {text}");
        assert_eq!(a.header_value(), text);
    }

    #[test]
    fn a_key_of_ones_own_is_checked() {
        assert_eq!("k-1".parse::<IdempotencyKey>().map(|k| k.header_value()), Ok(HeaderValue::from_static("k-1")));
        for bad in ["", "two words", "tab\tkey", "é", &"x".repeat(256)] {
            assert!(bad.parse::<IdempotencyKey>().is_err(), "{bad:?}");
        }
        assert!("x".repeat(255).parse::<IdempotencyKey>().is_ok());
    }
}
