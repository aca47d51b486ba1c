//! What token validation needs besides the token: the user's name and domain, the
//! scope's names, the roles held there, and the catalog. Resolved from the database on
//! first use and kept until any identity write invalidates it, so a validation is a
//! decrypt plus a map lookup.
//!
//! A resolution that raced with a write must not be cached: each entry is inserted
//! only if the generation it was read under is still current.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use ferrostack_core::{RoleRef, Scope};
use ferrostack_types::identity::CatalogEntry;

use crate::tokens::TokenScope;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub user_id: String,
    pub scope: TokenScope,
    pub application_credential_id: Option<String>,
    pub trust_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct AppCredSummary {
    pub id: String,
    pub name: String,
    pub unrestricted: bool,
}

/// The trust a trust-scoped token came from, as its token shows it.
#[derive(Clone, Debug)]
pub struct TrustSummary {
    pub id: String,
    pub impersonation: bool,
    pub trustor_user_id: String,
    pub trustee_user_id: String,
}

/// A user in a scope, with the roles that hold there.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub user_id: String,
    pub user_name: String,
    pub user_domain_id: String,
    pub user_domain_name: String,
    pub scope: Scope,
    pub roles: Vec<RoleRef>,
    pub application_credential: Option<AppCredSummary>,
    pub trust: Option<TrustSummary>,
}

#[derive(Default)]
struct Inner {
    scopes: HashMap<Key, Arc<Resolved>>,
    catalog: Option<Arc<Vec<CatalogEntry>>>,
    ep_filters: Option<Arc<EndpointFilters>>,
}

/// Per project with endpoint filters (OS-EP-FILTER), the endpoint ids its catalog
/// keeps; projects not here see the whole catalog.
pub type EndpointFilters = HashMap<String, std::collections::HashSet<String>>;

#[derive(Default)]
pub struct AuthCache {
    inner: RwLock<Inner>,
    generation: AtomicU64,
}

/// Bound on cached resolutions; past it the cache starts over (cheap to refill).
const MAX_ENTRIES: usize = 100_000;

impl AuthCache {
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn invalidate(&self) {
        if let Ok(mut inner) = self.inner.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            inner.scopes.clear();
            inner.catalog = None;
            inner.ep_filters = None;
        }
    }

    pub fn entries(&self) -> usize {
        self.inner.read().map(|i| i.scopes.len()).unwrap_or(0)
    }

    pub fn get(&self, key: &Key) -> Option<Arc<Resolved>> {
        self.inner.read().ok()?.scopes.get(key).cloned()
    }

    pub fn put(&self, key: Key, generation: u64, value: Arc<Resolved>) {
        if let Ok(mut inner) = self.inner.write() {
            if self.generation.load(Ordering::Acquire) != generation {
                return;
            }
            if inner.scopes.len() >= MAX_ENTRIES {
                inner.scopes.clear();
            }
            inner.scopes.insert(key, value);
        }
    }

    pub fn catalog(&self) -> Option<Arc<Vec<CatalogEntry>>> {
        self.inner.read().ok()?.catalog.clone()
    }

    pub fn put_catalog(&self, generation: u64, value: Arc<Vec<CatalogEntry>>) {
        if let Ok(mut inner) = self.inner.write() {
            if self.generation.load(Ordering::Acquire) == generation {
                inner.catalog = Some(value);
            }
        }
    }

    pub fn ep_filters(&self) -> Option<Arc<EndpointFilters>> {
        self.inner.read().ok()?.ep_filters.clone()
    }

    pub fn put_ep_filters(&self, generation: u64, value: Arc<EndpointFilters>) {
        if let Ok(mut inner) = self.inner.write() {
            if self.generation.load(Ordering::Acquire) == generation {
                inner.ep_filters = Some(value);
            }
        }
    }
}
