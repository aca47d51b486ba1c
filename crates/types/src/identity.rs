//! Identity resources as the services return them. The REST layer renders these in
//! Keystone's JSON shapes; the console uses them as they are.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    /// `None` for a top-level project (Keystone shows the domain id as its parent).
    pub parent_id: Option<String>,
    pub description: String,
    pub enabled: bool,
    pub tags: Vec<String>,
    /// Attributes beyond Keystone's own, kept and returned as given.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
    pub password_expires_at: Option<String>,
    /// Keystone's `options.ignore_lockout_failure_attempts`: failed logins never lock it.
    #[serde(default)]
    pub ignore_lockout: bool,
    /// Attributes beyond Keystone's own, kept and returned as given.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Set for a domain-specific role: it is not a global role and never appears in a
    /// token (only the global roles it implies do).
    #[serde(default)]
    pub domain_id: Option<String>,
}

/// Holding `prior` gives `implies` too (`/v3/roles/{prior}/implies/{implied}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleInference {
    pub prior: Named,
    pub implies: Vec<Named>,
}

/// A trust (OS-TRUST): the trustor delegates roles on a project to the trustee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trust {
    pub id: String,
    pub trustor_user_id: String,
    pub trustee_user_id: String,
    pub project_id: String,
    pub impersonation: bool,
    pub roles: Vec<Named>,
    pub expires_at: Option<String>,
    /// `None`: unlimited.
    pub remaining_uses: Option<i64>,
}

/// A credential (`/v3/credentials`); the blob is shown in clear to its owner and admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub credential_type: String,
    pub blob: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub id: String,
    pub description: String,
    pub parent_region_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    pub service_type: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub service_id: String,
    pub region_id: Option<String>,
    pub interface: String,
    pub url: String,
    pub enabled: bool,
}

/// A name/id pair, as roles, users and projects appear inside other resources.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationCredential {
    pub id: String,
    pub name: String,
    pub description: String,
    pub user_id: String,
    pub project_id: String,
    pub roles: Vec<Named>,
    pub unrestricted: bool,
    pub expires_at: Option<String>,
    /// Only set in the answer to a create: the secret is never stored in clear.
    pub secret: Option<String>,
}

/// Who holds a role assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    User(String),
    Group(String),
}

/// Where a role assignment applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Project(String),
    Domain(String),
    System,
}

/// One row of GET /v3/role_assignments. Names are filled when asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub actor: Actor,
    pub target: Target,
    pub role: Named,
    /// For an effective assignment derived from a group membership: that group.
    pub via_group: Option<String>,
    pub actor_name: Option<NameInDomain>,
    pub target_name: Option<NameInDomain>,
    /// An OS-INHERIT assignment (`inherited_to: projects`), shown on its target.
    #[serde(default)]
    pub inherited: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameInDomain {
    pub name: String,
    /// (id, name) of the owning domain; `None` for a domain itself.
    pub domain: Option<Named>,
}

/// The catalog as a token carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub id: String,
    pub service_type: String,
    pub name: String,
    pub endpoints: Vec<CatalogEndpoint>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEndpoint {
    pub id: String,
    pub interface: String,
    pub region_id: Option<String>,
    pub url: String,
}

/// What the identity service accepts, in one place: the service validates against these
/// and the console's forms check them in the browser before sending.
pub mod limits {
    /// Names of domains, projects and groups.
    pub const NAME_MAX: usize = 64;
    pub const USER_NAME_MAX: usize = 255;
    pub const ROLE_NAME_MAX: usize = 255;
    pub const APP_CRED_NAME_MAX: usize = 255;
    pub const EMAIL_MAX: usize = 255;
    pub const DESCRIPTION_MAX: usize = 65_535;
    pub const PASSWORD_MAX: usize = 4096;
}
