//! Bootstrap: what a new cloud needs before anyone can log in: the default domain,
//! the admin/member/reader roles, the admin project and user, a region and the
//! catalog. Idempotent: run it on every start and it only fills what is missing (and
//! moves the catalog when the public URL changes). It never resets what exists: a
//! rotated admin password or a removed grant stays as the operator left it, unless
//! `reset_admin_password` asks (`ferrostack bootstrap --reset-admin-password`).

use ferrostack_core::{Ctx, Result};
use ferrostack_types::identity::{Actor, Target};

use crate::{
    passwords, Grant, Identity, NewDomain, NewEndpoint, NewProject, NewRegion, NewRole, NewService,
    NewUser, DEFAULT_DOMAIN_ID,
};

/// A service the catalog lists: type, name, and path under the public URL.
#[derive(Clone, Debug)]
pub struct CatalogService {
    pub service_type: String,
    pub name: String,
    pub path: String,
}

#[derive(Clone, Debug)]
pub struct BootstrapOptions {
    pub admin_user: String,
    pub admin_password: String,
    pub admin_project: String,
    pub region: String,
    /// Base URL clients reach the cloud at, e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    pub services: Vec<CatalogService>,
    /// Set the existing admin's password to `admin_password` (and grant it admin
    /// again); without it an existing admin is left alone.
    pub reset_admin_password: bool,
}

impl BootstrapOptions {
    pub fn new(admin_password: String, public_url: String) -> Self {
        BootstrapOptions {
            admin_user: "admin".into(),
            admin_password,
            admin_project: "admin".into(),
            region: "RegionOne".into(),
            public_url,
            services: vec![
                CatalogService {
                    service_type: "identity".into(),
                    name: "keystone".into(),
                    path: "/identity/v3".into(),
                },
                CatalogService {
                    service_type: "image".into(),
                    name: "glance".into(),
                    path: "/image".into(),
                },
                CatalogService {
                    service_type: "compute".into(),
                    name: "nova".into(),
                    path: "/compute/v2.1".into(),
                },
                CatalogService {
                    service_type: "network".into(),
                    name: "neutron".into(),
                    path: "/network".into(),
                },
            ],
            reset_admin_password: false,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct BootstrapReport {
    pub admin_user_id: String,
    pub admin_project_id: String,
    /// What this run created or changed, for the log; empty when all was in place.
    pub changed: Vec<String>,
    /// The admin's password is `admin_password` because this run set it (the admin
    /// was created, or its password reset as asked).
    pub password_set: bool,
}

impl Identity {
    pub async fn bootstrap(&self, ctx: &Ctx, o: &BootstrapOptions) -> Result<BootstrapReport> {
        let mut changed = Vec::new();
        if self.domain_fetch(DEFAULT_DOMAIN_ID).await.is_err() {
            let d = NewDomain {
                id: Some(DEFAULT_DOMAIN_ID.into()),
                name: "Default".into(),
                description: "The default domain".into(),
                enabled: true,
            };
            self.domain_create(ctx, d).await?;
            changed.push("domain Default".to_string());
        }
        let mut admin_role = None;
        // Each role implies the next (admin → member → reader), as Keystone's
        // bootstrap makes them: made with the role, so an operator's later removal of an
        // implication is not undone by the next bootstrap.
        let mut prior: Option<ferrostack_types::identity::Role> = None;
        for name in ["admin", "member", "reader"] {
            let role = match self.role_by_name(name).await? {
                Some(r) => r,
                None => {
                    changed.push(format!("role {name}"));
                    let r = self
                        .role_create(
                            ctx,
                            NewRole {
                                name: name.into(),
                                description: String::new(),
                                domain_id: None,
                            },
                        )
                        .await?;
                    if let Some(p) = &prior {
                        self.implied_role_create(ctx, &p.id, &r.id).await?;
                        changed.push(format!("implied role {} → {name}", p.name));
                    }
                    r
                }
            };
            if name == "admin" {
                admin_role = Some(role.clone());
            }
            prior = Some(role);
        }
        let admin_role =
            admin_role.ok_or_else(|| ferrostack_core::Error::internal("admin role missing"))?;
        let project = match self
            .project_by_name(DEFAULT_DOMAIN_ID, &o.admin_project)
            .await
        {
            Ok(p) => p,
            Err(_) => {
                changed.push(format!("project {}", o.admin_project));
                let p = NewProject {
                    name: o.admin_project.clone(),
                    description: "Bootstrap project for administering the cloud".into(),
                    enabled: true,
                    ..Default::default()
                };
                self.project_create(ctx, p).await?
            }
        };
        let mut password_set = false;
        let mut fresh = false;
        let user = match self.user_by_name(DEFAULT_DOMAIN_ID, &o.admin_user).await {
            Ok(u) if o.reset_admin_password => {
                let creds = self.user_credentials(&u.id).await?;
                let same = match creds.and_then(|c| c.password_hash) {
                    Some(h) => passwords::verify(h, o.admin_password.clone()).await?,
                    None => false,
                };
                if !same {
                    changed.push(format!("password of user {}", o.admin_user));
                    let upd = crate::UserUpdate {
                        password: Some(o.admin_password.clone()),
                        ..Default::default()
                    };
                    self.user_update(ctx, &u.id, upd).await?;
                }
                password_set = true;
                u
            }
            Ok(u) => u,
            Err(_) => {
                fresh = true;
                password_set = true;
                changed.push(format!("user {}", o.admin_user));
                let u = NewUser {
                    name: o.admin_user.clone(),
                    password: Some(o.admin_password.clone()),
                    enabled: true,
                    default_project_id: Some(project.id.clone()),
                    ..Default::default()
                };
                let u = self.user_create(ctx, u).await?;
                // Failed guesses never lock the operator out (Keystone's
                // ignore_lockout_failure_attempts); they are slowed per address instead.
                self.user_set_ignore_lockout(&u.id, true).await?;
                u
            }
        };
        // Grants are made for a new admin (or when asked to reset it), never put back
        // behind an operator who removed them.
        let targets = if fresh || o.reset_admin_password {
            vec![Target::Project(project.id.clone()), Target::System]
        } else {
            Vec::new()
        };
        for target in targets {
            let g = Grant {
                actor: Actor::User(user.id.clone()),
                target,
                role_id: admin_role.id.clone(),
            };
            if self.role_check(ctx, g.clone()).await.is_err() {
                self.role_grant(ctx, g).await?;
                changed.push("admin role grant".to_string());
            }
        }
        if self.region_get(ctx, &o.region).await.is_err() {
            let r = NewRegion {
                id: Some(o.region.clone()),
                description: String::new(),
                parent_region_id: None,
            };
            self.region_create(ctx, r).await?;
            changed.push(format!("region {}", o.region));
        }
        for s in &o.services {
            let url = format!("{}{}", o.public_url.trim_end_matches('/'), s.path);
            let service = match self
                .service_list(ctx, Some(s.service_type.clone()), None)
                .await?
                .into_iter()
                .next()
            {
                Some(svc) => svc,
                None => {
                    changed.push(format!("service {}", s.service_type));
                    let n = NewService {
                        service_type: s.service_type.clone(),
                        name: s.name.clone(),
                        description: String::new(),
                        enabled: true,
                    };
                    self.service_create(ctx, n).await?
                }
            };
            let f = crate::EndpointFilter {
                service_id: Some(service.id.clone()),
                ..Default::default()
            };
            let existing = self.endpoint_list(ctx, f).await?;
            for iface in ["public", "internal", "admin"] {
                match existing.iter().find(|e| e.interface == iface) {
                    Some(e) if e.url == url && e.region_id.as_deref() == Some(&o.region) => {}
                    Some(e) => {
                        changed.push(format!("{iface} endpoint of {}", s.service_type));
                        let upd = crate::EndpointUpdate {
                            url: Some(url.clone()),
                            region_id: Some(Some(o.region.clone())),
                            ..Default::default()
                        };
                        self.endpoint_update(ctx, &e.id, upd).await?;
                    }
                    None => {
                        changed.push(format!("{iface} endpoint of {}", s.service_type));
                        let n = NewEndpoint {
                            service_id: service.id.clone(),
                            region_id: Some(o.region.clone()),
                            interface: iface.into(),
                            url: url.clone(),
                            enabled: true,
                        };
                        self.endpoint_create(ctx, n).await?;
                    }
                }
            }
        }
        Ok(BootstrapReport {
            admin_user_id: user.id,
            admin_project_id: project.id,
            changed,
            password_set,
        })
    }
}
