//! A fresh identity service over a fresh database per test: SQLite by default,
//! PostgreSQL when FERROSTACK_TEST_PG_URL is set (the test command runs both).

#![allow(dead_code)]

use std::sync::Arc;

use ferrostack_core::{Ctx, Db};
use ferrostack_identity::{
    AuthMethod, AuthRequest, BootstrapOptions, DomainRef, Grant, Identity, IdentityConfig,
    NewProject, NewUser, PasswordParams, ProjectRef, ScopeRequest, TokenInfo, UserRef,
};
use ferrostack_types::identity::{Actor, Project, Target, User};

pub const ADMIN_PASSWORD: &str = "admin-secret-1";

pub struct Cloud {
    pub id: Arc<Identity>,
    pub admin: Ctx,
    pub admin_project_id: String,
    pub member_role_id: String,
    pub reader_role_id: String,
    pub admin_role_id: String,
    pub db: Db,
    pub keys: tempfile::TempDir,
}

pub fn config(keys: &std::path::Path) -> IdentityConfig {
    let mut cfg = IdentityConfig::new(keys.join("keys"));
    cfg.password_params = PasswordParams::for_tests();
    cfg.lockout_failure_attempts = 3;
    cfg.lockout_duration_secs = 2;
    cfg
}

pub async fn cloud() -> Cloud {
    let db = Db::for_tests().await.expect("test database");
    let keys = tempfile::tempdir().expect("tempdir");
    let id = Identity::open(db.clone(), config(keys.path()))
        .await
        .expect("identity");
    let report = id
        .bootstrap(
            &Ctx::internal("test"),
            &BootstrapOptions::new(ADMIN_PASSWORD.into(), "http://127.0.0.1:8080".into()),
        )
        .await
        .expect("bootstrap");
    let admin = login(&id, "admin", ADMIN_PASSWORD, Some("admin"))
        .await
        .expect("admin login")
        .ctx("test");
    let roles = id.role_list(&admin, None, None).await.expect("roles");
    let role = |n: &str| {
        roles
            .iter()
            .find(|r| r.name == n)
            .map(|r| r.id.clone())
            .expect("role")
    };
    Cloud {
        admin_project_id: report.admin_project_id,
        member_role_id: role("member"),
        reader_role_id: role("reader"),
        admin_role_id: role("admin"),
        admin,
        id,
        db,
        keys,
    }
}

pub async fn login(
    id: &Identity,
    user: &str,
    password: &str,
    project: Option<&str>,
) -> ferrostack_core::Result<TokenInfo> {
    let scope = match project {
        Some(p) => ScopeRequest::Project(ProjectRef::Name {
            name: p.into(),
            domain: DomainRef::Id("default".into()),
        }),
        None => ScopeRequest::Unscoped,
    };
    id.issue_token(AuthRequest {
        method: AuthMethod::Password {
            user: UserRef::Name {
                name: user.into(),
                domain: DomainRef::Name("Default".into()),
            },
            password: password.into(),
        },
        scope,
    })
    .await
}

impl Cloud {
    pub async fn project(&self, name: &str) -> Project {
        self.id
            .project_create(
                &self.admin,
                NewProject {
                    name: name.into(),
                    enabled: true,
                    ..Default::default()
                },
            )
            .await
            .expect("project")
    }

    pub async fn user(&self, name: &str, password: &str) -> User {
        let u = NewUser {
            name: name.into(),
            password: Some(password.into()),
            enabled: true,
            ..Default::default()
        };
        self.id.user_create(&self.admin, u).await.expect("user")
    }

    pub async fn grant(&self, user: &User, project: &Project, role_id: &str) {
        let g = Grant {
            actor: Actor::User(user.id.clone()),
            target: Target::Project(project.id.clone()),
            role_id: role_id.into(),
        };
        self.id.role_grant(&self.admin, g).await.expect("grant");
    }

    /// A user with the member role on a new project, signed in there.
    pub async fn member(&self, user: &str, project: &str) -> (User, Project, TokenInfo) {
        let p = self.project(project).await;
        let u = self.user(user, "pw-of-member").await;
        self.grant(&u, &p, &self.member_role_id).await;
        let t = login(&self.id, user, "pw-of-member", Some(project))
            .await
            .expect("member login");
        (u, p, t)
    }
}

impl Cloud {
    /// The same cloud as another server process sees it: its own identity service (own
    /// caches) over the same database and keys.
    pub async fn other_process(&self) -> Arc<Identity> {
        Identity::open(self.db.clone(), config(self.keys.path()))
            .await
            .expect("a second identity service")
    }
}

/// The names of the roles a token carries, in order.
pub fn role_names(t: &TokenInfo) -> Vec<&str> {
    t.resolved.roles.iter().map(|r| r.name.as_str()).collect()
}

pub fn status(e: ferrostack_core::Error) -> (u16, String) {
    (e.status(), e.to_string())
}
