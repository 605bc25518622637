//! [`AdaptiveThrottles`]: one adaptive throttle per scope.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use super::{AdaptiveThrottle, Weighted};

/// One [`AdaptiveThrottle`] per scope, made on first use: rate limits belong to an API key
/// and a model (OpenAI's and Anthropic's are per organisation or workspace, and per
/// model), and one shared throttle would slow a model down for another's limits.
///
/// ```
/// use steadfast::AdaptiveThrottles;
///
/// let limits: AdaptiveThrottles<(String, String)> = AdaptiveThrottles::new();
/// let mini = limits.get(&("project-a".to_owned(), "gpt-4o-mini".to_owned()));
/// let same = limits.get(&("project-a".to_owned(), "gpt-4o-mini".to_owned()));
/// let other = limits.get(&("project-a".to_owned(), "gpt-4o".to_owned()));
/// assert!(std::sync::Arc::ptr_eq(&mini, &same));
/// assert!(!std::sync::Arc::ptr_eq(&mini, &other));
/// ```
pub struct AdaptiveThrottles<K> {
    scopes: Mutex<HashMap<K, Arc<AdaptiveThrottle>>>,
}

impl<K: Hash + Eq> AdaptiveThrottles<K> {
    /// No scope yet.
    pub fn new() -> Self {
        AdaptiveThrottles { scopes: Mutex::new(HashMap::new()) }
    }

    /// The throttle of `key`'s scope, made the first time the key is seen. Name it (or its
    /// [`cost`](AdaptiveThrottle::cost)) in `throttle = …`, and feed it the responses.
    pub fn get<Q>(&self, key: &Q) -> Arc<AdaptiveThrottle>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let mut scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(throttle) = scopes.get(key) {
            return Arc::clone(throttle);
        }
        let throttle = Arc::new(AdaptiveThrottle::new());
        scopes.insert(key.to_owned(), Arc::clone(&throttle));
        throttle
    }

    /// The throttle of `key`'s scope for a call of about `tokens`: what `throttle = …`
    /// names (it holds the scope's `Arc`, so it borrows nothing from `self`'s map).
    ///
    /// ```
    /// use steadfast::{retry, AdaptiveThrottles};
    ///
    /// struct Client {
    ///     limits: AdaptiveThrottles<(String, String)>,
    /// }
    ///
    /// impl Client {
    ///     #[retry(attempts = 3, throttle = self.limits.cost(&(key.to_owned(), model.to_owned()), 500))]
    ///     async fn complete(&self, key: &str, model: &str) -> Result<String, std::io::Error> {
    ///         Ok(format!("{model} answered"))
    ///     }
    /// }
    /// ```
    pub fn cost<Q>(&self, key: &Q, tokens: u64) -> Weighted<Arc<AdaptiveThrottle>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        Weighted::new(self.get(key), tokens)
    }

    /// Every scope seen so far, with its throttle.
    pub fn scopes(&self) -> Vec<(K, Arc<AdaptiveThrottle>)>
    where
        K: Clone,
    {
        let scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        scopes.iter().map(|(k, t)| (k.clone(), Arc::clone(t))).collect()
    }
}

impl<K: Hash + Eq> Default for AdaptiveThrottles<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> fmt::Debug for AdaptiveThrottles<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.scopes.lock().map_or(0, |s| s.len());
        f.debug_struct("AdaptiveThrottles").field("scopes", &n).finish()
    }
}
