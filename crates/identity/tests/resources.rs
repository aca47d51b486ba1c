//! Identity resources and who may touch them, against a real database.

mod common;

use common::*;
use ferrostack_identity::{
    AssignmentFilter, AuthMethod, AuthRequest, DomainUpdate, Grant, NewDomain, NewGroup,
    NewProject, NewRole, NewUser, ProjectFilter, ProjectRef, ProjectUpdate, ScopeRequest,
    UserFilter, UserRef,
};
use ferrostack_types::identity::{Actor, Target};

#[tokio::test]
async fn project_crud_with_filters_and_duplicate_names() {
    let c = cloud().await;
    let web = c.project("web").await;
    let (code, msg) = status(
        c.id.project_create(
            &c.admin,
            NewProject {
                name: "WEB".into(),
                enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(code, 409, "names are unique per domain, ignoring case");
    assert!(
        msg.contains("Duplicate entry") && msg.contains("WEB"),
        "{msg}"
    );
    let child = NewProject {
        name: "web-dev".into(),
        parent_id: Some(web.id.clone()),
        enabled: true,
        ..Default::default()
    };
    let child = c.id.project_create(&c.admin, child).await.unwrap();
    assert_eq!(child.parent_id.as_deref(), Some(web.id.as_str()));

    let f = ProjectFilter {
        parent_id: Some(web.id.clone()),
        ..Default::default()
    };
    let kids = c.id.project_list(&c.admin, f).await.unwrap();
    assert_eq!(
        kids.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        vec!["web-dev"]
    );
    c.id.project_update(
        &c.admin,
        &web.id,
        ProjectUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let disabled =
        c.id.project_list(
            &c.admin,
            ProjectFilter {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        disabled.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec![web.id.as_str()]
    );

    let (code, msg) = status(c.id.project_delete(&c.admin, &web.id).await.unwrap_err());
    assert_eq!(code, 409);
    assert!(msg.contains("child"), "{msg}");
    c.id.project_delete(&c.admin, &child.id).await.unwrap();
    c.id.project_delete(&c.admin, &web.id).await.unwrap();
    assert_eq!(
        c.id.project_get(&c.admin, &web.id)
            .await
            .unwrap_err()
            .status(),
        404
    );
}

#[tokio::test]
async fn overlong_and_blank_names_are_refused_before_anything_is_written() {
    let c = cloud().await;
    let long = NewProject {
        name: "x".repeat(65),
        enabled: true,
        ..Default::default()
    };
    let (code, msg) = status(c.id.project_create(&c.admin, long).await.unwrap_err());
    assert_eq!(code, 400);
    assert!(msg.contains("'name'") && msg.contains("64"), "{msg}");
    let blank = NewUser {
        name: "  ".into(),
        enabled: true,
        ..Default::default()
    };
    assert_eq!(
        c.id.user_create(&c.admin, blank)
            .await
            .unwrap_err()
            .status(),
        400
    );
    let bad_parent = NewProject {
        name: "p".into(),
        parent_id: Some("nope".into()),
        enabled: true,
        ..Default::default()
    };
    let (code, msg) = status(c.id.project_create(&c.admin, bad_parent).await.unwrap_err());
    assert_eq!(code, 400);
    assert!(msg.contains("parent_id"), "{msg}");
    assert_eq!(
        c.id.project_list(&c.admin, Default::default())
            .await
            .unwrap()
            .len(),
        1,
        "only the admin project"
    );
}

/// Extras are the service's rule, not the REST layer's: one named after a field the
/// service keeps (which would shadow it in every view) is refused from any caller.
#[tokio::test]
async fn extra_attributes_cannot_take_a_fields_name() {
    let c = cloud().await;
    let extra = |k: &str| {
        let mut m = serde_json::Map::new();
        m.insert(k.into(), serde_json::json!("forged"));
        m
    };
    for k in ["id", "domain_id", "password_expires_at", "links", "email"] {
        let u = NewUser {
            name: format!("u-{k}"),
            enabled: true,
            extra: extra(k),
            ..Default::default()
        };
        let (code, msg) = status(c.id.user_create(&c.admin, u).await.unwrap_err());
        assert_eq!(code, 400, "{k}: {msg}");
        assert!(msg.contains(&format!("'{k}'")), "{msg}");
    }
    for k in ["id", "parent_id", "is_domain", "tags"] {
        let p = NewProject {
            name: format!("p-{k}"),
            enabled: true,
            extra: extra(k),
            ..Default::default()
        };
        let (code, msg) = status(c.id.project_create(&c.admin, p).await.unwrap_err());
        assert_eq!(code, 400, "{k}: {msg}");
    }
    // Nothing was written; an ordinary extra is kept, and an update cannot forge one.
    assert!(c
        .id
        .user_list(&c.admin, UserFilter::default())
        .await
        .unwrap()
        .iter()
        .all(|u| !u.name.starts_with("u-")));
    let u = NewUser {
        name: "kept".into(),
        enabled: true,
        extra: extra("team"),
        ..Default::default()
    };
    let user = c.id.user_create(&c.admin, u).await.unwrap();
    assert_eq!(user.extra.get("team"), Some(&serde_json::json!("forged")));
    let upd = ferrostack_identity::UserUpdate {
        extra: extra("domain_id"),
        ..Default::default()
    };
    let (code, _) = status(c.id.user_update(&c.admin, &user.id, upd).await.unwrap_err());
    assert_eq!(code, 400);
    let again = c.id.user_get(&c.admin, &user.id).await.unwrap();
    assert_eq!(again.domain_id, user.domain_id);
}

#[tokio::test]
async fn member_sees_only_its_projects_and_cannot_administer() {
    let c = cloud().await;
    let (_, mine, t) = c.member("kim", "kims-project").await;
    let other = c.project("someone-elses").await;
    let ctx = t.ctx("r");
    // Listing every project is an admin's (Keystone's policy); a member lists its own.
    let e =
        c.id.project_list(&ctx, Default::default())
            .await
            .unwrap_err();
    assert_eq!(e.status(), 403);
    assert!(e.to_string().contains("/v3/auth/projects"), "{e}");
    let uid = ctx.user_id.clone().unwrap();
    let visible = c.id.user_projects(&ctx, &uid).await.unwrap();
    assert_eq!(
        visible.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec![mine.id.as_str()]
    );
    assert_eq!(
        c.id.project_get(&ctx, &other.id)
            .await
            .unwrap_err()
            .status(),
        404
    );
    c.id.project_get(&ctx, &mine.id).await.expect("own project");

    let (code, msg) = status(
        c.id.user_create(
            &ctx,
            NewUser {
                name: "x".into(),
                enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(code, 403);
    assert!(
        msg.contains("identity:create_user") && msg.contains("admin role"),
        "{msg}"
    );
    assert_eq!(
        c.id.user_list(&ctx, UserFilter::default())
            .await
            .unwrap_err()
            .status(),
        403
    );
    assert_eq!(
        c.id.project_delete(&ctx, &mine.id)
            .await
            .unwrap_err()
            .status(),
        403
    );
    let g = Grant {
        actor: Actor::User(ctx.user_id.clone().unwrap()),
        target: Target::Project(other.id.clone()),
        role_id: c.member_role_id.clone(),
    };
    assert_eq!(
        c.id.role_grant(&ctx, g).await.unwrap_err().status(),
        403,
        "no self-granting"
    );
    let f = AssignmentFilter::default();
    assert_eq!(
        c.id.assignment_list(&ctx, f).await.unwrap_err().status(),
        403
    );
    // ... but may ask about its own assignments.
    let own = AssignmentFilter {
        user_id: ctx.user_id.clone(),
        ..Default::default()
    };
    assert_eq!(c.id.assignment_list(&ctx, own).await.unwrap().len(), 1);
}

#[tokio::test]
async fn role_assignments_list_effective_and_with_names() {
    let c = cloud().await;
    let p = c.project("pa").await;
    let u = c.user("lee", "pw").await;
    let g =
        c.id.group_create(
            &c.admin,
            NewGroup {
                name: "devs".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.id.group_add_user(&c.admin, &g.id, &u.id).await.unwrap();
    c.grant(&u, &p, &c.member_role_id).await;
    let gg = Grant {
        actor: Actor::Group(g.id.clone()),
        target: Target::Project(p.id.clone()),
        role_id: c.reader_role_id.clone(),
    };
    c.id.role_grant(&c.admin, gg).await.unwrap();

    let direct = AssignmentFilter {
        project_id: Some(p.id.clone()),
        ..Default::default()
    };
    let list = c.id.assignment_list(&c.admin, direct).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().any(|a| a.actor == Actor::Group(g.id.clone())));

    let eff = AssignmentFilter {
        project_id: Some(p.id.clone()),
        effective: true,
        ..Default::default()
    };
    let mut list = c.id.assignment_list(&c.admin, eff).await.unwrap();
    assert!(
        list.iter().all(|a| a.actor == Actor::User(u.id.clone())),
        "groups expand to their members"
    );
    assert!(list
        .iter()
        .any(|a| a.via_group.as_deref() == Some(g.id.as_str()) && a.role.name == "reader"));
    c.id.assignment_names(&mut list).await.unwrap();
    assert!(list
        .iter()
        .all(|a| a.actor_name.as_ref().map(|n| n.name.as_str()) == Some("lee")));
    assert!(list
        .iter()
        .all(|a| a.target_name.as_ref().map(|n| n.name.as_str()) == Some("pa")));
}

#[tokio::test]
async fn grants_check_and_revoke_with_clear_404s() {
    let c = cloud().await;
    let p = c.project("pb").await;
    let u = c.user("max", "pw").await;
    let g = Grant {
        actor: Actor::User(u.id.clone()),
        target: Target::Project(p.id.clone()),
        role_id: c.member_role_id.clone(),
    };
    let (code, msg) = status(c.id.role_check(&c.admin, g.clone()).await.unwrap_err());
    assert_eq!(code, 404);
    assert!(
        msg.contains("role assignment") && msg.contains("member"),
        "{msg}"
    );
    c.id.role_grant(&c.admin, g.clone()).await.unwrap();
    c.id.role_grant(&c.admin, g.clone())
        .await
        .expect("granting twice is fine");
    c.id.role_check(&c.admin, g.clone()).await.unwrap();
    c.id.role_revoke(&c.admin, g.clone()).await.unwrap();
    assert_eq!(
        c.id.role_revoke(&c.admin, g).await.unwrap_err().status(),
        404
    );
    let unknown_role = Grant {
        actor: Actor::User(u.id.clone()),
        target: Target::Project(p.id.clone()),
        role_id: "nope".into(),
    };
    let (code, msg) = status(c.id.role_grant(&c.admin, unknown_role).await.unwrap_err());
    assert_eq!(code, 404);
    assert!(msg.contains("role: nope"), "{msg}");
}

#[tokio::test]
async fn deleting_a_disabled_domain_takes_its_projects_users_and_groups_and_their_tokens() {
    let c = cloud().await;
    let d =
        c.id.domain_create(
            &c.admin,
            NewDomain {
                name: "acme".into(),
                enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let in_acme = |name: &str, parent: Option<String>| NewProject {
        name: name.into(),
        domain_id: Some(d.id.clone()),
        parent_id: parent,
        enabled: true,
        ..Default::default()
    };
    let p =
        c.id.project_create(&c.admin, in_acme("acme-web", None))
            .await
            .unwrap();
    let child =
        c.id.project_create(&c.admin, in_acme("acme-web-2", Some(p.id.clone())))
            .await
            .unwrap();
    let u = NewUser {
        name: "wile".into(),
        domain_id: Some(d.id.clone()),
        password: Some("pw-of-wile".into()),
        enabled: true,
        ..Default::default()
    };
    let u = c.id.user_create(&c.admin, u).await.unwrap();
    c.grant(&u, &p, &c.member_role_id).await;
    let token =
        c.id.issue_token(AuthRequest {
            method: AuthMethod::Password {
                user: UserRef::Id(u.id.clone()),
                password: "pw-of-wile".into(),
            },
            scope: ScopeRequest::Project(ProjectRef::Id(p.id.clone())),
        })
        .await
        .unwrap();
    // An outsider with a role on the domain's project loses it too.
    let (outsider, _, _) = c.member("roadrunner", "elsewhere").await;
    c.grant(&outsider, &p, &c.member_role_id).await;

    // Enabled: refused (403), as Keystone.
    assert_eq!(
        c.id.domain_delete(&c.admin, &d.id)
            .await
            .unwrap_err()
            .status(),
        403
    );
    c.id.domain_update(
        &c.admin,
        &d.id,
        DomainUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    c.id.domain_delete(&c.admin, &d.id).await.unwrap();
    for id in [&p.id, &child.id] {
        assert_eq!(
            c.id.project_get(&c.admin, id).await.unwrap_err().status(),
            404
        );
    }
    assert_eq!(
        c.id.user_get(&c.admin, &u.id).await.unwrap_err().status(),
        404
    );
    assert!(
        c.id.validate_token(&token.token).await.is_err(),
        "its user's tokens end"
    );
    let left = c.id.user_projects(&c.admin, &outsider.id).await.unwrap();
    assert!(left.iter().all(|x| x.id != p.id), "{left:?}");
    assert_eq!(
        c.id.domain_get(&c.admin, &d.id).await.unwrap_err().status(),
        404
    );
}

#[tokio::test]
async fn deleting_a_role_removes_its_assignments_but_admin_stays() {
    let c = cloud().await;
    let r =
        c.id.role_create(
            &c.admin,
            NewRole {
                name: "auditor".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (u, p, _) = c.member("nina", "pn").await;
    c.grant(&u, &p, &r.id).await;
    c.id.role_delete(&c.admin, &r.id).await.unwrap();
    let f = AssignmentFilter {
        user_id: Some(u.id.clone()),
        ..Default::default()
    };
    let left = c.id.assignment_list(&c.admin, f).await.unwrap();
    assert_eq!(
        left.iter()
            .map(|a| a.role.name.as_str())
            .collect::<Vec<_>>(),
        vec!["member"]
    );
    assert_eq!(
        c.id.role_delete(&c.admin, &c.admin_role_id)
            .await
            .unwrap_err()
            .status(),
        409
    );
}

#[tokio::test]
async fn users_filter_by_enabled_and_default_project() {
    let c = cloud().await;
    let p = c.project("pu").await;
    let u = NewUser {
        name: "olga".into(),
        enabled: false,
        default_project_id: Some(p.id.clone()),
        ..Default::default()
    };
    c.id.user_create(&c.admin, u).await.unwrap();
    let off =
        c.id.user_list(
            &c.admin,
            UserFilter {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        off.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        vec!["olga"]
    );
    let f = UserFilter {
        default_project_id: Some(p.id.clone()),
        ..Default::default()
    };
    assert_eq!(c.id.user_list(&c.admin, f).await.unwrap().len(), 1);
    // Deleting the project clears the default project rather than leaving it dangling.
    c.id.project_delete(&c.admin, &p.id).await.unwrap();
    let olga =
        c.id.user_list(
            &c.admin,
            UserFilter {
                name: Some("olga".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(olga[0].default_project_id, None);
}

#[tokio::test]
async fn the_test_database_is_the_backend_asked_for() {
    let c = cloud().await;
    let want_pg = std::env::var("FERROSTACK_TEST_PG_URL").is_ok_and(|u| !u.is_empty());
    let expected = if want_pg {
        ferrostack_core::db::Backend::Postgres
    } else {
        ferrostack_core::db::Backend::Sqlite
    };
    assert_eq!(c.id.db().backend, expected);
}

#[tokio::test]
async fn the_project_panel_pages_and_searches_and_is_for_admins() {
    let c = cloud().await;
    for i in 0..25 {
        c.project(&format!("web-{i:02}")).await;
    }
    c.project("db-main").await;
    let (page, total) = c.id.project_page(&c.admin, "WEB", 10, 10).await.unwrap();
    assert_eq!(total, 25);
    assert_eq!(page.first().map(|p| p.name.as_str()), Some("web-10"));
    assert_eq!(page.len(), 10);
    let (all, total) = c.id.project_page(&c.admin, "", 0, 200).await.unwrap();
    assert_eq!((all.len(), total), (27, 27), "25 web, db-main and admin");
    // LIKE wildcards typed in the search are dropped, not used as patterns.
    assert_eq!(c.id.project_page(&c.admin, "%", 0, 10).await.unwrap().1, 27);
    let (_, _, t) = c.member("sam", "sams").await;
    assert_eq!(
        c.id.project_page(&t.ctx("r"), "", 0, 10)
            .await
            .unwrap_err()
            .status(),
        403
    );
}

#[tokio::test]
async fn create_user_in_project_checks_project_and_role_before_writing() {
    let c = cloud().await;
    let p = c.project("green").await;
    let new = || NewUser {
        name: "tess".into(),
        password: Some("pw".into()),
        enabled: true,
        ..Default::default()
    };
    let (code, msg) = status(
        c.id.user_create_in_project(&c.admin, new(), &p.id, "no-such-role")
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 400);
    assert!(msg.contains("'role'"), "{msg}");
    let f = UserFilter {
        name: Some("tess".into()),
        ..Default::default()
    };
    assert!(
        c.id.user_list(&c.admin, f.clone())
            .await
            .unwrap()
            .is_empty(),
        "nothing half-written"
    );
    let u =
        c.id.user_create_in_project(&c.admin, new(), &p.id, &c.member_role_id)
            .await
            .unwrap();
    assert_eq!(u.default_project_id.as_deref(), Some(p.id.as_str()));
    let t = login(&c.id, "tess", "pw", Some("green"))
        .await
        .expect("member of its primary project");
    // member implies reader (bootstrap's implied roles).
    assert_eq!(role_names(&t), vec!["member", "reader"]);
}

/// Two server processes on one database: a change made through one that revokes
/// nothing (a role granted, a project renamed) is seen by the other within one sync
/// (a second in `serve`), not only after a restart.
#[tokio::test]
async fn another_process_sees_a_grant_and_a_rename_after_one_sync() {
    let c = cloud().await;
    let other = c.other_process().await;
    let (u, p, t) = c.member("gwen", "gwens").await;
    // The other process validates the token and caches what it resolved.
    let seen = other.validate_token(&t.token).await.expect("valid");
    assert_eq!(role_names(&seen), ["member", "reader"]);
    let observer =
        c.id.role_create(
            &c.admin,
            ferrostack_identity::NewRole {
                name: "observer".into(),
                ..Default::default()
            },
        )
        .await
        .expect("role");
    c.grant(&u, &p, &observer.id).await;
    c.id.project_update(
        &c.admin,
        &p.id,
        ferrostack_identity::ProjectUpdate {
            name: Some("gwens-renamed".into()),
            ..Default::default()
        },
    )
    .await
    .expect("rename");
    other.sync_revocations().await.expect("sync");
    let seen = other.validate_token(&t.token).await.expect("still valid");
    let mut roles = role_names(&seen);
    roles.sort();
    assert_eq!(roles, ["member", "observer", "reader"]);
    assert!(
        matches!(&seen.ctx("t").scope, ferrostack_core::Scope::Project { name, .. } if name == "gwens-renamed"),
        "{:?}",
        seen.ctx("t").scope
    );
}
