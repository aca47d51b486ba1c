//! Identity resources in Keystone v3's JSON shapes.

use ferrostack_core::Scope;
use ferrostack_identity::TokenInfo;
use ferrostack_types::identity::*;
use serde_json::{json, Value};

/// The base of every link: `{public_url}/identity/v3`.
pub struct Links<'a>(pub &'a str);

impl Links<'_> {
    pub fn to(&self, path: &str) -> Value {
        json!({"self": format!("{}/identity/v3/{path}", self.0)})
    }

    /// The collection links Keystone puts beside every list.
    pub fn list(&self, path: &str) -> Value {
        json!({"self": format!("{}/identity/v3/{path}", self.0), "previous": null, "next": null})
    }
}

pub fn domain(l: &Links, d: &Domain) -> Value {
    json!({
        "id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
        "tags": [], "options": {}, "links": l.to(&format!("domains/{}", d.id)),
    })
}

pub fn project(l: &Links, p: &Project) -> Value {
    let mut v = json!({
        "id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
        "enabled": p.enabled, "parent_id": p.parent_id.clone().unwrap_or_else(|| p.domain_id.clone()),
        "is_domain": false, "tags": p.tags, "options": {},
        "links": l.to(&format!("projects/{}", p.id)),
    });
    with_extra(&mut v, &p.extra);
    v
}

/// Extra attributes beside the known fields (never in place of one).
fn with_extra(v: &mut Value, extra: &serde_json::Map<String, Value>) {
    if let Some(o) = v.as_object_mut() {
        for (k, x) in extra {
            o.entry(k.clone()).or_insert_with(|| x.clone());
        }
    }
}

pub fn user(l: &Links, u: &User) -> Value {
    let mut v = json!({
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
        "password_expires_at": u.password_expires_at,
        "options": if u.ignore_lockout { json!({"ignore_lockout_failure_attempts": true}) } else { json!({}) },
        "links": l.to(&format!("users/{}", u.id)),
    });
    if let Some(p) = &u.default_project_id {
        v["default_project_id"] = json!(p);
    }
    if let Some(e) = &u.email {
        v["email"] = json!(e);
    }
    if let Some(d) = &u.description {
        v["description"] = json!(d);
    }
    with_extra(&mut v, &u.extra);
    v
}

pub fn group(l: &Links, g: &Group) -> Value {
    json!({
        "id": g.id, "name": g.name, "domain_id": g.domain_id, "description": g.description,
        "links": l.to(&format!("groups/{}", g.id)),
    })
}

pub fn role(l: &Links, r: &Role) -> Value {
    json!({
        "id": r.id, "name": r.name, "domain_id": r.domain_id, "description": r.description, "options": {},
        "links": l.to(&format!("roles/{}", r.id)),
    })
}

fn role_ref(l: &Links, r: &Named) -> Value {
    json!({"id": r.id, "name": r.name, "links": l.to(&format!("roles/{}", r.id))})
}

/// A role inference: `implies` is one role (`single`) or the list, as Keystone answers
/// a PUT or GET of one inference and a list of a role's.
pub fn role_inference(l: &Links, i: &RoleInference, single: bool) -> Value {
    let implies: Vec<Value> = i.implies.iter().map(|r| role_ref(l, r)).collect();
    json!({
        "prior_role": role_ref(l, &i.prior),
        "implies": if single { implies.into_iter().next().unwrap_or(Value::Null) } else { Value::Array(implies) },
    })
}

pub fn trust(l: &Links, t: &Trust) -> Value {
    json!({
        "id": t.id, "trustor_user_id": t.trustor_user_id, "trustee_user_id": t.trustee_user_id,
        "project_id": t.project_id, "impersonation": t.impersonation,
        "expires_at": t.expires_at, "remaining_uses": t.remaining_uses,
        "allow_redelegation": false, "redelegation_count": 0, "redelegated_trust_id": null,
        "roles": t.roles.iter().map(|r| json!({"id": r.id, "name": r.name, "domain_id": null, "links": l.to(&format!("roles/{}", r.id))})).collect::<Vec<_>>(),
        "roles_links": {"self": format!("{}/identity/v3/OS-TRUST/trusts/{}/roles", l.0, t.id), "previous": null, "next": null},
        "links": {"self": format!("{}/identity/v3/OS-TRUST/trusts/{}", l.0, t.id)},
    })
}

pub fn region(l: &Links, r: &Region) -> Value {
    json!({
        "id": r.id, "description": r.description, "parent_region_id": r.parent_region_id,
        "links": l.to(&format!("regions/{}", r.id)),
    })
}

pub fn service(l: &Links, s: &Service) -> Value {
    json!({
        "id": s.id, "type": s.service_type, "name": s.name, "description": s.description,
        "enabled": s.enabled, "links": l.to(&format!("services/{}", s.id)),
    })
}

pub fn endpoint(l: &Links, e: &Endpoint) -> Value {
    json!({
        "id": e.id, "service_id": e.service_id, "region": e.region_id, "region_id": e.region_id,
        "interface": e.interface, "url": e.url, "enabled": e.enabled,
        "links": l.to(&format!("endpoints/{}", e.id)),
    })
}

pub fn app_cred(l: &Links, a: &ApplicationCredential) -> Value {
    let mut v = json!({
        "id": a.id, "name": a.name, "description": a.description, "user_id": a.user_id,
        "project_id": a.project_id, "unrestricted": a.unrestricted, "expires_at": a.expires_at,
        "roles": a.roles.iter().map(|r| json!({"id": r.id, "name": r.name, "domain_id": null})).collect::<Vec<_>>(),
        "access_rules": [], "system": null,
        "links": l.to(&format!("users/{}/application_credentials/{}", a.user_id, a.id)),
    });
    if let Some(s) = &a.secret {
        v["secret"] = json!(s);
    }
    v
}

fn name_in_domain(id: &str, n: &Option<NameInDomain>, with_names: bool) -> Value {
    let mut v = json!({"id": id});
    if let (true, Some(n)) = (with_names, n) {
        v["name"] = json!(n.name);
        if let Some(d) = &n.domain {
            v["domain"] = json!({"id": d.id, "name": d.name});
        }
    }
    v
}

pub fn assignment(l: &Links, a: &RoleAssignment, with_names: bool) -> Value {
    let (actor_key, actor_id) = match &a.actor {
        Actor::User(u) => ("user", u),
        Actor::Group(g) => ("group", g),
    };
    let (scope, target_path) = match &a.target {
        Target::Project(p) => (
            json!({"project": name_in_domain(p, &a.target_name, with_names)}),
            format!("projects/{p}"),
        ),
        Target::Domain(d) => (
            json!({"domain": name_in_domain(d, &a.target_name, with_names)}),
            format!("domains/{d}"),
        ),
        Target::System => (json!({"system": {"all": true}}), "system".to_string()),
    };
    let mut role = json!({"id": a.role.id});
    if with_names {
        role["name"] = json!(a.role.name);
    }
    let assignment_link = match &a.via_group {
        Some(g) => format!(
            "{}/identity/v3/{target_path}/groups/{g}/roles/{}",
            l.0, a.role.id
        ),
        None => format!(
            "{}/identity/v3/{target_path}/{actor_key}s/{actor_id}/roles/{}",
            l.0, a.role.id
        ),
    };
    let mut links = json!({"assignment": assignment_link});
    if let Some(g) = &a.via_group {
        links["membership"] = json!(format!("{}/identity/v3/groups/{g}/users/{actor_id}", l.0));
    }
    let mut scope = scope;
    if a.inherited {
        scope["OS-INHERIT:inherited_to"] = json!("projects");
        links["assignment"] = json!(format!(
            "{}/identity/v3/OS-INHERIT/{target_path}/{actor_key}s/{actor_id}/roles/{}/inherited_to_projects",
            l.0, a.role.id
        ));
    }
    let mut v = json!({"role": role, "scope": scope, "links": links});
    v[actor_key] = name_in_domain(actor_id, &a.actor_name, with_names);
    v
}

pub fn catalog(entries: &[CatalogEntry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|s| {
                json!({
                    "id": s.id, "type": s.service_type, "name": s.name,
                    "endpoints": s.endpoints.iter().map(|e| json!({
                        "id": e.id, "interface": e.interface, "region": e.region_id,
                        "region_id": e.region_id, "url": e.url,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// The body of POST/GET /v3/auth/tokens.
pub fn token(t: &TokenInfo, with_catalog: bool) -> Value {
    let r = &t.resolved;
    let mut v = json!({
        "methods": t.payload.method_names(),
        "user": {
            "id": r.user_id, "name": r.user_name, "password_expires_at": null,
            "domain": {"id": r.user_domain_id, "name": r.user_domain_name},
        },
        "audit_ids": t.payload.audit_ids,
        "issued_at": t.issued_at(),
        "expires_at": t.expires_at(),
    });
    match &r.scope {
        Scope::Unscoped => {}
        Scope::Project {
            id,
            name,
            domain_id,
            domain_name,
        } => {
            v["project"] =
                json!({"id": id, "name": name, "domain": {"id": domain_id, "name": domain_name}});
            v["is_domain"] = json!(false);
        }
        Scope::Domain { id, name } => v["domain"] = json!({"id": id, "name": name}),
        Scope::System => v["system"] = json!({"all": true}),
    }
    if !matches!(r.scope, Scope::Unscoped) {
        v["roles"] = json!(r
            .roles
            .iter()
            .map(|x| json!({"id": x.id, "name": x.name}))
            .collect::<Vec<_>>());
        if with_catalog {
            v["catalog"] = t
                .catalog
                .as_deref()
                .map(|c| catalog(c))
                .unwrap_or(json!([]));
        }
    }
    if let Some(t) = &r.trust {
        v["OS-TRUST:trust"] = json!({
            "id": t.id, "impersonation": t.impersonation,
            "trustee_user": {"id": t.trustee_user_id}, "trustor_user": {"id": t.trustor_user_id},
        });
    }
    if let Some(ac) = &r.application_credential {
        v["application_credential"] =
            json!({"id": ac.id, "name": ac.name, "restricted": !ac.unrestricted});
    }
    json!({"token": v})
}
