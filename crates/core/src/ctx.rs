//! The caller context: who is asking, in which scope, with which roles. Every service
//! function takes one first; there are constructors for each kind of caller.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Unscoped,
    Project {
        id: String,
        name: String,
        domain_id: String,
        domain_name: String,
    },
    Domain {
        id: String,
        name: String,
    },
    System,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRef {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct Ctx {
    pub request_id: String,
    /// `None` only for the process itself (bootstrap, background work).
    pub user_id: Option<String>,
    pub user_name: String,
    pub user_domain_id: String,
    pub scope: Scope,
    pub roles: Vec<RoleRef>,
    /// Set when the caller authenticated with an application credential.
    pub application_credential_id: Option<String>,
    /// The token's audit id, for logs.
    pub audit_id: Option<String>,
}

pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_MEMBER: &str = "member";
pub const ROLE_READER: &str = "reader";

impl Ctx {
    /// The process acting for itself: bootstrap, migrations, background jobs.
    pub fn internal(request_id: impl Into<String>) -> Self {
        Ctx {
            request_id: request_id.into(),
            user_id: None,
            user_name: "ferrostack".into(),
            user_domain_id: "default".into(),
            scope: Scope::System,
            roles: vec![RoleRef {
                id: String::new(),
                name: ROLE_ADMIN.into(),
            }],
            application_credential_id: None,
            audit_id: None,
        }
    }

    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.name == name)
    }

    /// Cloud administrator: holds `admin` in its scope, or is the process itself.
    pub fn is_admin(&self) -> bool {
        self.has_role(ROLE_ADMIN)
    }

    /// May write inside its project (member or admin).
    pub fn can_write_project(&self) -> bool {
        self.is_admin() || self.has_role(ROLE_MEMBER)
    }

    pub fn project_id(&self) -> Option<&str> {
        match &self.scope {
            Scope::Project { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn is_user(&self, user_id: &str) -> bool {
        self.user_id.as_deref() == Some(user_id)
    }
}
