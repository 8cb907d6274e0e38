//! Search results (availability and price per name) reused for a few minutes, so searching the
//! same names again — one customer typing, or many — does not spend the registrar's API quota
//! (Namecheap answers rate-limited callers with 405 for everyone on the account). Purchases
//! never read it: `buy` and the saga ask the registrar itself.

use std::time::Duration;

use super::{Availability, Registrar, RegistrarError};

/// At most this many names are kept (the least recently used leave first).
const MAX_NAMES: u64 = 10_000;

#[derive(Clone)]
pub struct AvailabilityCache {
    names: moka::sync::Cache<String, Availability>,
}

impl std::fmt::Debug for AvailabilityCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvailabilityCache")
            .field("names", &self.names.entry_count())
            .finish()
    }
}

impl AvailabilityCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            names: moka::sync::Cache::builder()
                .max_capacity(MAX_NAMES)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Availability of `names` (lower-case ASCII): the cached ones from the cache, the others
    /// from `registrar` in one call (none when all are cached). Names the registrar does not
    /// answer for are left out, as the registrar leaves them out.
    pub async fn check(
        &self,
        registrar: &dyn Registrar,
        names: &[String],
    ) -> Result<Vec<Availability>, RegistrarError> {
        let mut found = Vec::with_capacity(names.len());
        let mut missing = Vec::new();
        for name in names {
            match self.names.get(name) {
                Some(a) => found.push(a),
                None => missing.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            for a in registrar.check(&missing).await? {
                self.names.insert(a.name.to_ascii_lowercase(), a.clone());
                found.push(a);
            }
        }
        Ok(found)
    }

    /// Drops what is known about `name` (it was just bought).
    pub fn forget(&self, name: &str) {
        self.names.invalidate(name);
    }
}
