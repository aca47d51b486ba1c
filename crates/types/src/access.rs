//! Who may call an endpoint: the class every REST route, console route and server
//! function is registered with (server/src/api/table.rs builds the routers from it, and
//! the every-endpoint test calls each one as four callers and checks the class holds).
//! The rule itself lives in the service; the class is the promise the test keeps.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Access {
    /// Anyone, without credentials: version discovery, schemas, signing in.
    Public,
    /// Any valid token or console session; it answers about the caller itself or about
    /// what every user of the cloud may see (its own token, roles, the catalog), and
    /// lists filtered to what the caller may see.
    Token,
    /// A project's resource, read: the project's members (readers included) see it;
    /// anyone else is told it is not there (or, for a list, does not find it).
    ProjectRead,
    /// A new resource in the caller's own project: members with a role that may write
    /// create it; a reader is refused (403).
    Create,
    /// A project's resource, changed: members with a role that may write; a reader is
    /// refused (403), anyone else is told it is not there.
    ProjectWrite,
    /// The caller's own user record (its password, groups, projects, application
    /// credentials); anyone else is refused.
    UserSelf,
    /// Cloud administrators only; everyone else is refused (403).
    Admin,
}

impl Access {
    /// Whether a caller without credentials may use it.
    pub fn is_public(self) -> bool {
        matches!(self, Access::Public)
    }
}
