//! The endpoint table. Every REST route and console route is added through `Routes`,
//! which registers the handler with axum and records (method, path, access class) in
//! the same call, so the table cannot drift from what is served. `server::endpoints()`
//! returns it (with the console's server functions), and the every-endpoint test
//! (server/tests/endpoints.rs) calls each entry as an anonymous caller, a forged token,
//! a reader of the resource's project and a member of another project.
//! Adding a route anywhere but here fails that test's source check.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};
use axum::Router;
pub use ferrostack_types::access::Access;

use crate::state::AppState;

/// One entry of the table: a method on a path (axum's `{param}` syntax, full path from
/// the server's root) and who may call it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub method: Method,
    pub path: String,
    pub access: Access,
}

/// A router under construction together with its table.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<Endpoint>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

macro_rules! method {
    ($name:ident, $method:ident) => {
        pub fn $name<H, T>(self, path: &str, access: Access, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add(Method::$method, path, access, routing::$name(handler))
        }
    };
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    method!(get, GET);
    method!(post, POST);
    method!(put, PUT);
    method!(patch, PATCH);
    method!(delete, DELETE);
    method!(head, HEAD);

    fn add(
        mut self,
        method: Method,
        path: &str,
        access: Access,
        mr: MethodRouter<AppState>,
    ) -> Self {
        // axum merges method routers registered on one path (and panics on a method
        // registered twice, as it should).
        self.router = self.router.route(path, mr);
        self.table.push(Endpoint {
            method,
            path: path.to_string(),
            access,
        });
        self
    }

    /// Mount `inner` under `prefix` (its table paths gain the prefix).
    pub fn nest(mut self, prefix: &str, inner: Routes) -> Self {
        self.router = self.router.nest(prefix, inner.router);
        self.table.extend(inner.table.into_iter().map(|mut e| {
            e.path = if e.path == "/" {
                prefix.to_string()
            } else {
                format!("{prefix}{}", e.path)
            };
            e
        }));
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// Table entries for server functions (`POST /api/{name}`), which leptos_axum
    /// registers itself (the leptos routes serve them); the every-endpoint test checks
    /// that these are exactly the server functions the binary has.
    pub fn server_fns(mut self, fns: &[(&str, Access)]) -> Self {
        self.table.extend(fns.iter().map(|(name, access)| Endpoint {
            method: Method::POST,
            path: format!("/api/{name}"),
            access: *access,
        }));
        self
    }

    /// Apply what axum's own router must do (layers, the leptos routes, a fallback).
    pub fn wrap(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    /// The table so far.
    pub fn table(&self) -> &[Endpoint] {
        &self.table
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<Endpoint>) {
        (self.router, self.table)
    }
}
