//! Authentication, tokens and revocation, against a real database.

mod common;

use common::*;
use ferrostack_identity::{
    AuthMethod, AuthRequest, Grant, NewApplicationCredential, RoleSpec, ScopeRequest, UserUpdate,
};
use ferrostack_types::identity::{Actor, Target};

#[tokio::test]
async fn admin_token_is_project_scoped_with_roles_and_catalog() {
    let c = cloud().await;
    let t = login(&c.id, "admin", ADMIN_PASSWORD, Some("admin"))
        .await
        .unwrap();
    let ctx = t.ctx("r");
    assert_eq!(ctx.project_id(), Some(c.admin_project_id.as_str()));
    assert!(ctx.is_admin());
    let catalog = t.catalog.as_ref().expect("scoped tokens carry a catalog");
    let identity = catalog
        .iter()
        .find(|s| s.service_type == "identity")
        .expect("identity in catalog");
    assert!(identity
        .endpoints
        .iter()
        .any(|e| e.interface == "public" && e.url == "http://127.0.0.1:8080/identity/v3"));
    // Validation returns the same user and scope.
    let v = c.id.validate_token(&t.token).await.unwrap();
    assert_eq!(v.resolved.user_id, t.resolved.user_id);
    assert_eq!(v.payload.expires_at_us, t.payload.expires_at_us);
}

#[tokio::test]
async fn bootstrap_twice_changes_nothing() {
    let c = cloud().await;
    let opts = ferrostack_identity::BootstrapOptions::new(
        ADMIN_PASSWORD.into(),
        "http://127.0.0.1:8080".into(),
    );
    let report = c.id.bootstrap(&c.admin, &opts).await.unwrap();
    assert!(
        report.changed.is_empty(),
        "second bootstrap changed {:?}",
        report.changed
    );
    assert_eq!(
        c.id.project_list(&c.admin, Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
    // A new public URL moves the catalog.
    let moved = ferrostack_identity::BootstrapOptions::new(
        ADMIN_PASSWORD.into(),
        "http://10.1.2.3:9000".into(),
    );
    c.id.bootstrap(&c.admin, &moved).await.unwrap();
    let cat = c.id.catalog().await.unwrap();
    assert!(cat
        .iter()
        .flat_map(|s| &s.endpoints)
        .all(|e| e.url.starts_with("http://10.1.2.3:9000/")));
}

#[tokio::test]
async fn wrong_password_is_refused_and_repeated_failures_lock_the_account() {
    let c = cloud().await;
    c.user("alice", "right-pw").await;
    let (code, msg) = status(login(&c.id, "alice", "wrong", None).await.unwrap_err());
    assert_eq!(code, 401);
    assert!(msg.contains("not correct"), "{msg}");
    login(&c.id, "alice", "wrong", None).await.unwrap_err();
    let (code, locked) = status(login(&c.id, "alice", "wrong", None).await.unwrap_err());
    assert_eq!(code, 401);
    // Even the right password is refused while locked; the caller is told nothing
    // more than for a wrong password (the lock is in the log).
    let checks = c.id.password_checks();
    let (_, msg) = status(login(&c.id, "alice", "right-pw", None).await.unwrap_err());
    assert_eq!(msg, locked);
    assert_eq!(msg, "The user name or password is not correct.");
    assert_eq!(
        c.id.password_checks(),
        checks,
        "a guess at a locked account is not checked"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    login(&c.id, "alice", "right-pw", None)
        .await
        .expect("lock has run out");
}

#[tokio::test]
async fn unknown_user_and_user_without_role_are_refused() {
    let c = cloud().await;
    assert_eq!(
        login(&c.id, "nobody", "x", None)
            .await
            .unwrap_err()
            .status(),
        401
    );
    c.user("bob", "pw").await;
    c.project("p1").await;
    let (code, msg) = status(login(&c.id, "bob", "pw", Some("p1")).await.unwrap_err());
    assert_eq!(code, 401);
    assert!(msg.contains("no role"), "{msg}");
    // Unscoped works without any role.
    let t = login(&c.id, "bob", "pw", None).await.unwrap();
    assert!(t.catalog.is_none() && t.resolved.roles.is_empty());
}

#[tokio::test]
async fn revoked_token_is_refused_but_others_stay_valid() {
    let c = cloud().await;
    let (_, _, t1) = c.member("carol", "pc").await;
    let t2 = login(&c.id, "carol", "pw-of-member", Some("pc"))
        .await
        .unwrap();
    let ctx = t1.ctx("r");
    c.id.token_revoke(&ctx, &t1.token).await.unwrap();
    let (code, msg) = status(c.id.validate_token(&t1.token).await.unwrap_err());
    assert_eq!(code, 401);
    assert!(msg.contains("revoked"), "{msg}");
    c.id.validate_token(&t2.token)
        .await
        .expect("another token of the same user stays valid");
}

#[tokio::test]
async fn a_user_cannot_revoke_someone_elses_token() {
    let c = cloud().await;
    let (_, _, mallory) = c.member("mallory", "pm").await;
    let (_, _, victim) = c.member("victim", "pv").await;
    let e =
        c.id.token_revoke(&mallory.ctx("r"), &victim.token)
            .await
            .unwrap_err();
    assert_eq!(e.status(), 403);
    c.id.validate_token(&victim.token)
        .await
        .expect("still valid");
}

#[tokio::test]
async fn disabling_or_deleting_a_user_ends_its_tokens_at_once() {
    let c = cloud().await;
    let (u, _, t) = c.member("dave", "pd").await;
    c.id.user_update(
        &c.admin,
        &u.id,
        UserUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.id.validate_token(&t.token).await.unwrap_err().status(),
        401
    );
    let (_, msg) = status(
        login(&c.id, "dave", "pw-of-member", Some("pd"))
            .await
            .unwrap_err(),
    );
    // Refused like any failed login: "disabled" is not told to who is asking.
    assert_eq!(msg, "The user name or password is not correct.");
    // Re-enabling does not bring the old token back.
    c.id.user_update(
        &c.admin,
        &u.id,
        UserUpdate {
            enabled: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(c.id.validate_token(&t.token).await.is_err());
    let t2 = login(&c.id, "dave", "pw-of-member", Some("pd"))
        .await
        .unwrap();
    c.id.user_delete(&c.admin, &u.id).await.unwrap();
    assert!(c.id.validate_token(&t2.token).await.is_err());
}

#[tokio::test]
async fn changing_a_password_ends_old_tokens_and_needs_the_old_password() {
    let c = cloud().await;
    let (u, _, t) = c.member("erin", "pe").await;
    let ctx = t.ctx("r");
    let e =
        c.id.user_change_password(&ctx, &u.id, "not-the-old-one", "new-pw-1")
            .await
            .unwrap_err();
    assert_eq!(e.status(), 401);
    c.id.validate_token(&t.token)
        .await
        .expect("a failed change revokes nothing");
    c.id.user_change_password(&ctx, &u.id, "pw-of-member", "new-pw-1")
        .await
        .unwrap();
    assert!(c.id.validate_token(&t.token).await.is_err());
    assert!(login(&c.id, "erin", "pw-of-member", Some("pe"))
        .await
        .is_err());
    login(&c.id, "erin", "new-pw-1", Some("pe"))
        .await
        .expect("new password works");
    // Nobody changes another user's password this way, not even an admin.
    let e =
        c.id.user_change_password(&c.admin, &u.id, "new-pw-1", "x")
            .await
            .unwrap_err();
    assert_eq!(e.status(), 403);
}

#[tokio::test]
async fn revoking_a_role_or_disabling_the_project_ends_project_tokens() {
    let c = cloud().await;
    let (u, p, t) = c.member("frank", "pf").await;
    let g = Grant {
        actor: Actor::User(u.id.clone()),
        target: Target::Project(p.id.clone()),
        role_id: c.member_role_id.clone(),
    };
    c.id.role_revoke(&c.admin, g.clone()).await.unwrap();
    assert!(c.id.validate_token(&t.token).await.is_err());
    c.id.role_grant(&c.admin, g).await.unwrap();
    let t2 = login(&c.id, "frank", "pw-of-member", Some("pf"))
        .await
        .unwrap();
    let upd = ferrostack_identity::ProjectUpdate {
        enabled: Some(false),
        ..Default::default()
    };
    c.id.project_update(&c.admin, &p.id, upd).await.unwrap();
    assert!(c.id.validate_token(&t2.token).await.is_err());
    let (_, msg) = status(
        login(&c.id, "frank", "pw-of-member", Some("pf"))
            .await
            .unwrap_err(),
    );
    assert!(msg.contains("disabled"), "{msg}");
}

#[tokio::test]
async fn roles_through_a_group_count_and_end_with_membership() {
    let c = cloud().await;
    let p = c.project("pg").await;
    let u = c.user("gina", "pw").await;
    let g =
        c.id.group_create(
            &c.admin,
            ferrostack_identity::NewGroup {
                name: "ops".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.id.group_add_user(&c.admin, &g.id, &u.id).await.unwrap();
    let grant = Grant {
        actor: Actor::Group(g.id.clone()),
        target: Target::Project(p.id.clone()),
        role_id: c.reader_role_id.clone(),
    };
    c.id.role_grant(&c.admin, grant).await.unwrap();
    let t = login(&c.id, "gina", "pw", Some("pg"))
        .await
        .expect("group role lets her in");
    assert_eq!(role_names(&t), vec!["reader"]);
    c.id.group_remove_user(&c.admin, &g.id, &u.id)
        .await
        .unwrap();
    assert!(c.id.validate_token(&t.token).await.is_err());
    assert!(login(&c.id, "gina", "pw", Some("pg")).await.is_err());
}

#[tokio::test]
async fn rescoping_with_a_token_keeps_its_expiry_and_audit_chain() {
    let c = cloud().await;
    let (_, p, _) = c.member("hank", "ph").await;
    let unscoped = login(&c.id, "hank", "pw-of-member", None).await.unwrap();
    let req = AuthRequest {
        method: AuthMethod::Token {
            token: unscoped.token.clone(),
        },
        scope: ScopeRequest::Project(ferrostack_identity::ProjectRef::Id(p.id.clone())),
    };
    let scoped = c.id.issue_token(req).await.unwrap();
    assert_eq!(scoped.payload.expires_at_us, unscoped.payload.expires_at_us);
    assert_eq!(
        scoped.payload.audit_ids.get(1),
        unscoped.payload.audit_ids.first()
    );
    assert_eq!(scoped.payload.method_names(), vec!["password", "token"]);
    assert_eq!(scoped.ctx("r").project_id(), Some(p.id.as_str()));
}

#[tokio::test]
async fn application_credential_logs_in_with_only_the_delegated_roles() {
    let c = cloud().await;
    let (u, p, _) = c.member("ivy", "pi").await;
    c.grant(&u, &p, &c.reader_role_id).await;
    let t = login(&c.id, "ivy", "pw-of-member", Some("pi"))
        .await
        .unwrap();
    let ctx = t.ctx("r");
    let new = NewApplicationCredential {
        name: "ci".into(),
        roles: vec![RoleSpec::Name("reader".into())],
        ..Default::default()
    };
    let ac = c.id.app_cred_create(&ctx, &u.id, new).await.unwrap();
    let secret = ac.secret.clone().expect("secret shown once");
    assert!(
        c.id.app_cred_get(&ctx, &u.id, &ac.id)
            .await
            .unwrap()
            .secret
            .is_none(),
        "never shown again"
    );

    let req = |secret: String| AuthRequest {
        method: AuthMethod::ApplicationCredential {
            id: Some(ac.id.clone()),
            name: None,
            user: None,
            secret,
        },
        scope: ScopeRequest::Default,
    };
    let at = c.id.issue_token(req(secret.clone())).await.unwrap();
    assert_eq!(at.ctx("r").project_id(), Some(p.id.as_str()));
    assert_eq!(role_names(&at), vec!["reader"]);
    assert_eq!(
        c.id.issue_token(req("wrong".into()))
            .await
            .unwrap_err()
            .status(),
        401
    );

    // A role the user does not hold cannot be delegated.
    let bad = NewApplicationCredential {
        name: "x".into(),
        roles: vec![RoleSpec::Name("admin".into())],
        ..Default::default()
    };
    let (code, msg) = status(c.id.app_cred_create(&ctx, &u.id, bad).await.unwrap_err());
    assert_eq!(code, 403);
    assert!(msg.contains("admin"), "{msg}");
    // A restricted credential's token cannot make more credentials.
    let more = NewApplicationCredential {
        name: "y".into(),
        ..Default::default()
    };
    assert_eq!(
        c.id.app_cred_create(&at.ctx("r"), &u.id, more)
            .await
            .unwrap_err()
            .status(),
        403
    );
    // Nor delete the user's other credentials (or itself): a leaked restricted
    // credential cannot remove what the user relies on.
    let other = NewApplicationCredential {
        name: "deploy".into(),
        ..Default::default()
    };
    let other = c.id.app_cred_create(&ctx, &u.id, other).await.unwrap();
    for target in [&other.id, &ac.id] {
        assert_eq!(
            c.id.app_cred_delete(&at.ctx("r"), &u.id, target)
                .await
                .unwrap_err()
                .status(),
            403
        );
    }
    assert!(c.id.app_cred_get(&ctx, &u.id, &other.id).await.is_ok());
    // Deleting it ends its tokens.
    c.id.app_cred_delete(&ctx, &u.id, &ac.id).await.unwrap();
    assert!(c.id.validate_token(&at.token).await.is_err());
    assert!(c.id.issue_token(req(secret)).await.is_err());
}

#[tokio::test]
async fn expired_application_credentials_are_refused() {
    let c = cloud().await;
    let (u, _, t) = c.member("jack", "pj").await;
    let past = NewApplicationCredential {
        name: "old".into(),
        expires_at: Some(ferrostack_core::time::now() - chrono::Duration::seconds(5)),
        ..Default::default()
    };
    let (code, msg) = status(
        c.id.app_cred_create(&t.ctx("r"), &u.id, past)
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 400);
    assert!(msg.contains("past"), "{msg}");
}

#[tokio::test]
async fn tokens_survive_key_rotation_and_a_restart() {
    let c = cloud().await;
    let t = login(&c.id, "admin", ADMIN_PASSWORD, Some("admin"))
        .await
        .unwrap();
    c.id.rotate_keys().unwrap();
    c.id.validate_token(&t.token)
        .await
        .expect("valid under the now-secondary key");
    // A second service over the same database and keys (a restart) sees the same,
    // including revocations.
    c.id.token_revoke(&c.admin, &t.token).await.unwrap();
    let again = ferrostack_identity::Identity::open(c.id.db().clone(), c.id.config().clone())
        .await
        .unwrap();
    assert!(
        again.validate_token(&t.token).await.is_err(),
        "revocation persisted"
    );
    let fresh = login(&again, "admin", ADMIN_PASSWORD, Some("admin"))
        .await
        .unwrap();
    again.validate_token(&fresh.token).await.unwrap();
}

#[tokio::test]
async fn tampered_and_foreign_tokens_are_refused() {
    let c = cloud().await;
    let t = login(&c.id, "admin", ADMIN_PASSWORD, Some("admin"))
        .await
        .unwrap();
    let mut forged = t.token.clone().into_bytes();
    let i = forged.len() - 5;
    forged[i] = if forged[i] == b'a' { b'b' } else { b'a' };
    let (code, msg) = status(
        c.id.validate_token(&String::from_utf8(forged).unwrap())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 401);
    assert!(msg.contains("not issued by this cloud"), "{msg}");
    // A token from another cloud (other keys) does not open here.
    let other = cloud().await;
    let theirs = login(&other.id, "admin", ADMIN_PASSWORD, Some("admin"))
        .await
        .unwrap();
    assert!(c.id.validate_token(&theirs.token).await.is_err());
}

#[tokio::test]
async fn domain_and_system_scoped_tokens_need_a_role_there() {
    let c = cloud().await;
    let u = c.user("quinn", "pw").await;
    let domain_req = |user: &str, pw: &str| AuthRequest {
        method: AuthMethod::Password {
            user: ferrostack_identity::UserRef::Name {
                name: user.into(),
                domain: ferrostack_identity::DomainRef::Id("default".into()),
            },
            password: pw.into(),
        },
        scope: ScopeRequest::Domain(ferrostack_identity::DomainRef::Name("Default".into())),
    };
    assert_eq!(
        c.id.issue_token(domain_req("quinn", "pw"))
            .await
            .unwrap_err()
            .status(),
        401
    );
    let g = Grant {
        actor: Actor::User(u.id.clone()),
        target: Target::Domain("default".into()),
        role_id: c.reader_role_id.clone(),
    };
    c.id.role_grant(&c.admin, g).await.unwrap();
    let t = c.id.issue_token(domain_req("quinn", "pw")).await.unwrap();
    let domains = c.id.auth_domains(&t.ctx("r")).await.unwrap();
    assert_eq!(
        domains.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        vec!["Default"]
    );
    assert!(
        matches!(t.ctx("r").scope, ferrostack_core::Scope::Domain { ref id, .. } if id == "default")
    );
    assert!(t.catalog.is_some());

    let system_req = |user: &str, pw: &str| AuthRequest {
        method: AuthMethod::Password {
            user: ferrostack_identity::UserRef::Name {
                name: user.into(),
                domain: ferrostack_identity::DomainRef::Id("default".into()),
            },
            password: pw.into(),
        },
        scope: ScopeRequest::System,
    };
    let (code, msg) = status(
        c.id.issue_token(system_req("quinn", "pw"))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 401);
    assert!(msg.contains("the system"), "{msg}");
    let t =
        c.id.issue_token(system_req("admin", ADMIN_PASSWORD))
            .await
            .expect("bootstrap grants admin on the system");
    assert_eq!(t.ctx("r").scope, ferrostack_core::Scope::System);
    assert!(t.ctx("r").is_admin());
}

#[tokio::test]
async fn refusals_do_not_tell_who_exists_or_why() {
    let c = cloud().await;
    let u = c.user("dave", "right-pw").await.id;
    let wrong = status(login(&c.id, "dave", "nope", None).await.unwrap_err());
    let before = c.id.password_checks();
    let unknown = status(login(&c.id, "nobody-here", "nope", None).await.unwrap_err());
    assert_eq!(
        unknown, wrong,
        "an unknown user is answered like a wrong password"
    );
    assert_eq!(
        c.id.password_checks(),
        before + 1,
        "and costs a password check too"
    );
    // A disabled user with the right password: the same answer, no user id in it.
    c.id.user_update(
        &c.admin,
        &u,
        ferrostack_identity::UserUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let disabled = status(login(&c.id, "dave", "right-pw", None).await.unwrap_err());
    assert_eq!(disabled, wrong);
    assert!(!disabled.1.contains(&u));
}

#[tokio::test]
async fn an_ignore_lockout_user_is_never_locked() {
    let c = cloud().await;
    let u = c.user("ops", "right-pw").await.id;
    c.id.user_update(
        &c.admin,
        &u,
        ferrostack_identity::UserUpdate {
            ignore_lockout: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for _ in 0..5 {
        login(&c.id, "ops", "wrong", None).await.unwrap_err();
    }
    login(&c.id, "ops", "right-pw", None)
        .await
        .expect("not locked");
}

#[tokio::test]
async fn the_change_password_call_counts_failures_like_a_login() {
    let c = cloud().await;
    let uid = c.user("erin", "right-pw-1").await.id;
    let tok = login(&c.id, "erin", "right-pw-1", None).await.unwrap();
    let me = c.id.authenticate("t", &tok.token).await.unwrap();
    for i in 0..3 {
        let e =
            c.id.user_change_password(&me, &uid, &format!("guess-{i}"), "new-pw-123")
                .await
                .unwrap_err();
        assert_eq!(e.status(), 401);
    }
    // Locked now: even the right original password is refused.
    let e =
        c.id.user_change_password(&me, &uid, "right-pw-1", "new-pw-123")
            .await
            .unwrap_err();
    assert_eq!(e.status(), 401);
}

#[tokio::test]
async fn bootstrap_again_keeps_a_rotated_admin_password_and_a_removed_grant() {
    let c = cloud().await;
    let admin_id = c.admin.user_id.clone().unwrap();
    c.id.user_update(
        &c.admin,
        &admin_id,
        ferrostack_identity::UserUpdate {
            password: Some("rotated-by-the-operator".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ops = login(&c.id, "admin", "rotated-by-the-operator", Some("admin"))
        .await
        .unwrap()
        .ctx("t");
    // The operator takes the system-scope admin grant away.
    let system = ferrostack_identity::Grant {
        actor: ferrostack_types::identity::Actor::User(admin_id.clone()),
        target: ferrostack_types::identity::Target::System,
        role_id: c.admin_role_id.clone(),
    };
    c.id.role_revoke(&ops, system.clone()).await.unwrap();
    // A restart runs bootstrap with the password of the credentials file.
    let opts = ferrostack_identity::BootstrapOptions::new(
        ADMIN_PASSWORD.into(),
        "http://127.0.0.1:8080".into(),
    );
    let report =
        c.id.bootstrap(&ferrostack_core::Ctx::internal("t"), &opts)
            .await
            .unwrap();
    assert!(!report.password_set);
    assert!(report.changed.is_empty(), "{:?}", report.changed);
    assert_eq!(
        login(&c.id, "admin", ADMIN_PASSWORD, Some("admin"))
            .await
            .unwrap_err()
            .status(),
        401
    );
    login(&c.id, "admin", "rotated-by-the-operator", Some("admin"))
        .await
        .expect("the rotated password holds");
    assert!(
        c.id.role_check(&ops, system.clone()).await.is_err(),
        "the removed grant stays removed"
    );
    // Asked to reset, it does.
    let reset = ferrostack_identity::BootstrapOptions {
        reset_admin_password: true,
        ..opts
    };
    let report =
        c.id.bootstrap(&ferrostack_core::Ctx::internal("t"), &reset)
            .await
            .unwrap();
    assert!(report.password_set);
    login(&c.id, "admin", ADMIN_PASSWORD, Some("admin"))
        .await
        .expect("reset");
}

#[tokio::test]
async fn disabling_a_domain_ends_its_projects_and_users_tokens_for_good() {
    let c = cloud().await;
    let d =
        c.id.domain_create(
            &c.admin,
            ferrostack_identity::NewDomain {
                name: "acme".into(),
                enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let p =
        c.id.project_create(
            &c.admin,
            ferrostack_identity::NewProject {
                name: "acme-web".into(),
                domain_id: Some(d.id.clone()),
                enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let u =
        c.id.user_create(
            &c.admin,
            ferrostack_identity::NewUser {
                name: "wile".into(),
                domain_id: Some(d.id.clone()),
                password: Some("coyote-pw-1".into()),
                enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.grant(&u, &p, &c.member_role_id).await;
    let scope = ScopeRequest::Project(ferrostack_identity::ProjectRef::Id(p.id.clone()));
    let login_acme = |scope: ScopeRequest| AuthRequest {
        method: AuthMethod::Password {
            user: ferrostack_identity::UserRef::Name {
                name: "wile".into(),
                domain: ferrostack_identity::DomainRef::Id(d.id.clone()),
            },
            password: "coyote-pw-1".into(),
        },
        scope,
    };
    let t = c.id.issue_token(login_acme(scope.clone())).await.unwrap();
    let unscoped =
        c.id.issue_token(login_acme(ScopeRequest::Unscoped))
            .await
            .unwrap();
    let off = ferrostack_identity::DomainUpdate {
        enabled: Some(false),
        ..Default::default()
    };
    c.id.domain_update(&c.admin, &d.id, off).await.unwrap();
    let on = ferrostack_identity::DomainUpdate {
        enabled: Some(true),
        ..Default::default()
    };
    c.id.domain_update(&c.admin, &d.id, on).await.unwrap();
    // Re-enabled: the old tokens stay dead; new logins work.
    assert_eq!(
        c.id.validate_token(&t.token).await.unwrap_err().status(),
        401
    );
    assert_eq!(
        c.id.validate_token(&unscoped.token)
            .await
            .unwrap_err()
            .status(),
        401
    );
    c.id.issue_token(login_acme(scope))
        .await
        .expect("a new login works");
}

#[tokio::test]
async fn revocation_events_are_pruned_once_their_tokens_have_expired() {
    let c = cloud().await;
    c.member("kim", "pk").await;
    // The same cloud with one-second tokens.
    let mut cfg = c.id.config().clone();
    cfg.token_ttl_secs = 1;
    let short = ferrostack_identity::Identity::open(c.id.db().clone(), cfg)
        .await
        .unwrap();
    let t = login(&short, "kim", "pw-of-member", Some("pk"))
        .await
        .unwrap();
    let before = short.revocation_count();
    for _ in 0..20 {
        let again = short
            .issue_token(AuthRequest {
                method: AuthMethod::Token {
                    token: t.token.clone(),
                },
                scope: ScopeRequest::Unscoped,
            })
            .await
            .unwrap();
        short.token_revoke(&t.ctx("x"), &again.token).await.unwrap();
    }
    assert_eq!(short.revocation_count(), before + 20);
    assert_eq!(
        short.prune_revocations().await.unwrap(),
        0,
        "nothing has expired yet"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(short.prune_revocations().await.unwrap() >= 20);
    assert_eq!(short.revocation_count(), before, "memory is pruned too");
}

#[tokio::test]
async fn revoking_tokens_in_a_loop_does_not_flush_other_callers_cached_validations() {
    let c = cloud().await;
    let (_, _, t) = c.member("lee", "pl").await;
    let (_, _, other) = c.member("max", "pm").await;
    c.id.validate_token(&other.token).await.unwrap();
    let before = c.id.cached_resolutions();
    assert!(before.0 >= 1);
    for _ in 0..20 {
        let again =
            c.id.issue_token(AuthRequest {
                method: AuthMethod::Token {
                    token: t.token.clone(),
                },
                scope: ScopeRequest::Unscoped,
            })
            .await
            .unwrap();
        c.id.token_revoke(&t.ctx("x"), &again.token).await.unwrap();
        assert_eq!(
            c.id.validate_token(&again.token)
                .await
                .unwrap_err()
                .status(),
            401
        );
    }
    // Max's resolution is still cached: validating his token reads no database.
    let after = c.id.cached_resolutions();
    assert_eq!(after.1, before.1, "the cache generation did not move");
    assert!(after.0 >= before.0);
    c.id.validate_token(&other.token).await.unwrap();
}
