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
    /// Set when the token is trust-scoped (OS-TRUST): the trust it came from.
    pub trust_id: Option<String>,
    /// The token's audit id, for logs.
    pub audit_id: Option<String>,
}

/// The id of the request being served (`x-openstack-request-id`), put in the request's
/// extensions by the HTTP front so that both doors hand it to the services in `Ctx`.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

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
            trust_id: None,
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

/// What a caller wants to do with a resource, for [`Ctx::authorize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// See it.
    Read,
    /// Change or delete it: its project's members (not readers) and admins.
    Write,
    /// Operator-only changes (a public image's publication, a host's state).
    Admin,
}

/// A resource as policy sees it: what it is, who owns it (a project, or a user for a
/// user's own records: its password, grants, credentials, tokens; neither for the
/// cloud's own), and whether callers who do not own it may see it (public images,
/// shared networks; the service decides that from its own rules, such as image
/// membership — or Keystone's, which answers 403 rather than hiding user records).
#[derive(Clone, Copy, Debug)]
pub struct Owned<'a> {
    pub kind: &'static str,
    pub id: &'a str,
    /// The owning project; `None` for a user's or the cloud's own resources.
    pub project: Option<&'a str>,
    /// The owning user, for a user's own records.
    pub user: Option<&'a str>,
    pub visible_to_others: bool,
}

impl<'a> Owned<'a> {
    /// A resource of project `project`, hidden from other projects.
    pub fn of_project(kind: &'static str, id: &'a str, project: &'a str) -> Self {
        Owned {
            kind,
            id,
            project: Some(project),
            user: None,
            visible_to_others: false,
        }
    }

    /// A user's own record, or what belongs to it; the user changes it itself.
    pub fn of_user(kind: &'static str, id: &'a str, user: &'a str) -> Self {
        Owned {
            kind,
            id,
            project: None,
            user: Some(user),
            visible_to_others: false,
        }
    }

    /// The cloud's own (domains, roles, the catalog): only admins change it.
    pub fn of_cloud(kind: &'static str, id: &'a str) -> Self {
        Owned {
            kind,
            id,
            project: None,
            user: None,
            visible_to_others: false,
        }
    }

    /// Whether callers who do not own it may see it.
    pub fn visible(mut self, yes: bool) -> Self {
        self.visible_to_others = yes;
        self
    }
}

impl Ctx {
    /// The one policy call. Someone who may not see the resource gets NotFound (so
    /// existence does not leak); someone who may see it but not do this, Forbidden.
    pub fn authorize(&self, action: Action, r: &Owned<'_>) -> crate::Result<()> {
        let own_user = r.user.is_some() && self.user_id.as_deref() == r.user;
        let own = own_user || (r.project.is_some() && self.project_id() == r.project);
        if !(self.is_admin() || own || r.visible_to_others) {
            return Err(crate::Error::not_found(r.kind, r.id));
        }
        let allowed = match action {
            Action::Read => true,
            // A user changes its own records whatever its role in a project.
            Action::Write => self.is_admin() || own_user || (own && self.can_write_project()),
            Action::Admin => self.is_admin(),
        };
        if allowed {
            return Ok(());
        }
        Err(crate::Error::forbidden(match action {
            Action::Admin => format!("Only an admin may do this to {} {}.", r.kind, r.id),
            _ if own => format!(
                "You may not change {} {}: your role in its project is read-only.",
                r.kind, r.id
            ),
            _ => format!(
                "You may not change {} {}: it belongs to another project.",
                r.kind, r.id
            ),
        }))
    }

    /// A job acting for the project and user that queued it, under their request id.
    /// It may change what that project owns (the role it had was checked at queueing).
    pub fn for_job(project: Option<&str>, user: Option<&str>, request_id: &str) -> Self {
        Ctx {
            request_id: request_id.to_string(),
            user_id: user.map(str::to_string),
            user_name: "job".into(),
            user_domain_id: "default".into(),
            scope: match project {
                Some(p) => Scope::Project {
                    id: p.to_string(),
                    name: String::new(),
                    domain_id: "default".into(),
                    domain_name: String::new(),
                },
                None => Scope::System,
            },
            roles: vec![RoleRef {
                id: String::new(),
                name: ROLE_MEMBER.into(),
            }],
            application_credential_id: None,
            trust_id: None,
            audit_id: None,
        }
    }

    /// A caller for tests: user `user-of-<project>` holding `role` in `project`.
    pub fn for_test(project: &str, role: &str) -> Self {
        Ctx {
            request_id: format!("req-test-{project}"),
            user_id: Some(format!("user-of-{project}")),
            user_name: format!("user-of-{project}"),
            user_domain_id: "default".into(),
            scope: Scope::Project {
                id: project.into(),
                name: project.into(),
                domain_id: "default".into(),
                domain_name: "Default".into(),
            },
            roles: vec![RoleRef {
                id: role.into(),
                name: role.into(),
            }],
            application_credential_id: None,
            trust_id: None,
            audit_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_policy_call_for_projects_users_and_the_cloud() {
        let reader = Ctx::for_test("a", ROLE_READER);
        let member = Ctx::for_test("a", ROLE_MEMBER);
        let stranger = Ctx::for_test("b", ROLE_MEMBER);
        let thing = Owned::of_project("thing", "t1", "a");
        assert!(reader.authorize(Action::Read, &thing).is_ok());
        assert!(matches!(
            reader.authorize(Action::Write, &thing),
            Err(crate::Error::Forbidden(_))
        ));
        assert!(member.authorize(Action::Write, &thing).is_ok());
        assert!(matches!(
            stranger.authorize(Action::Read, &thing),
            Err(crate::Error::NotFound { .. })
        ));
        assert!(matches!(
            stranger.authorize(Action::Write, &thing.visible(true)),
            Err(crate::Error::Forbidden(_))
        ));
        // A user's own records: the user changes them whatever its project role.
        let own = Owned::of_user("credential", "c1", "user-of-a");
        assert!(reader.authorize(Action::Write, &own).is_ok());
        assert!(matches!(
            stranger.authorize(Action::Read, &own),
            Err(crate::Error::NotFound { .. })
        ));
        // The cloud's own: everyone may see what is visible, only admins change it.
        let role = Owned::of_cloud("role", "r1").visible(true);
        assert!(member.authorize(Action::Read, &role).is_ok());
        assert!(matches!(
            member.authorize(Action::Admin, &role),
            Err(crate::Error::Forbidden(_))
        ));
        assert!(Ctx::for_test("a", "admin")
            .authorize(Action::Admin, &role)
            .is_ok());
    }
}
