//! Delegation: trusts (OS-TRUST) and implied and domain-specific roles, against a
//! real database (SQLite, or PostgreSQL under the test command's second pass).

mod common;

use common::*;
use ferrostack_identity::{
    AuthMethod, AuthRequest, DomainRef, Grant, NewApplicationCredential, NewRole, NewTrust,
    RoleSpec, ScopeRequest, TokenInfo, UserRef,
};
use ferrostack_types::identity::{Actor, Target};

/// `user` signs in unscoped with its password and asks for `scope`.
async fn as_user(
    c: &Cloud,
    user: &str,
    pw: &str,
    scope: ScopeRequest,
) -> ferrostack_core::Result<TokenInfo> {
    c.id.issue_token(AuthRequest {
        method: AuthMethod::Password {
            user: UserRef::Name {
                name: user.into(),
                domain: DomainRef::Id("default".into()),
            },
            password: pw.into(),
        },
        scope,
    })
    .await
}

fn trust_to(trustor: &str, trustee: &str, project: &str, roles: &[&str]) -> NewTrust {
    NewTrust {
        trustor_user_id: trustor.into(),
        trustee_user_id: trustee.into(),
        project_id: Some(project.into()),
        roles: roles
            .iter()
            .map(|r| RoleSpec::Name(r.to_string()))
            .collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_trust_gives_its_trustee_the_delegated_roles_until_it_is_deleted() {
    let c = cloud().await;
    let (alice, p, at) = c.member("alice", "apollo").await;
    let alice_ctx = at.ctx("r");
    let bob = c.user("bob", "pw-bob").await;
    let carol = c.user("carol", "pw-carol").await;

    // Alice holds member (and reader, which member implies): she delegates reader.
    let t =
        c.id.trust_create(&alice_ctx, trust_to(&alice.id, &bob.id, &p.id, &["reader"]))
            .await
            .unwrap();
    assert_eq!(t.roles.len(), 1);
    assert_eq!(t.roles[0].name, "reader");
    assert!(!t.impersonation);

    // Bob gets a token on Alice's project with the delegated role only, as himself.
    let bt = as_user(&c, "bob", "pw-bob", ScopeRequest::Trust(t.id.clone()))
        .await
        .unwrap();
    assert_eq!(role_names(&bt), vec!["reader"]);
    assert_eq!(bt.resolved.user_id, bob.id);
    assert_eq!(bt.ctx("r").project_id(), Some(p.id.as_str()));
    assert_eq!(bt.ctx("r").trust_id.as_deref(), Some(t.id.as_str()));
    let summary = bt
        .resolved
        .trust
        .as_ref()
        .expect("the token names its trust");
    assert_eq!(summary.trustor_user_id, alice.id);
    assert_eq!(summary.trustee_user_id, bob.id);

    // Carol is not the trustee.
    let (code, _) = status(
        as_user(&c, "carol", "pw-carol", ScopeRequest::Trust(t.id.clone()))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 403);
    // Nor may she see or delete it: for her it does not exist.
    let carol_ctx = as_user(&c, "carol", "pw-carol", ScopeRequest::Unscoped)
        .await
        .unwrap()
        .ctx("r");
    assert_eq!(
        c.id.trust_get(&carol_ctx, &t.id)
            .await
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        c.id.trust_delete(&carol_ctx, &t.id)
            .await
            .unwrap_err()
            .status(),
        404
    );
    // Listing every trust is for admins; one's own are listed by naming oneself.
    assert_eq!(
        c.id.trust_list(&carol_ctx, None, None)
            .await
            .unwrap_err()
            .status(),
        403
    );
    assert!(c
        .id
        .trust_list(&carol_ctx, None, Some(carol.id.clone()))
        .await
        .unwrap()
        .is_empty());
    let bob_ctx = bt.ctx("r");
    let mine =
        c.id.trust_list(&bob_ctx, None, Some(bob.id.clone()))
            .await
            .unwrap();
    assert_eq!(mine.len(), 1);
    // The trustee sees the trust but may not delete it.
    assert_eq!(
        c.id.trust_delete(&bob_ctx, &t.id)
            .await
            .unwrap_err()
            .status(),
        403
    );

    // A trust-scoped token neither rescopes nor delegates further.
    let (code, msg) = status(
        c.id.issue_token(AuthRequest {
            method: AuthMethod::Token {
                token: bt.token.clone(),
            },
            scope: ScopeRequest::Unscoped,
        })
        .await
        .unwrap_err(),
    );
    assert_eq!(code, 403, "{msg}");
    let (code, msg) = status(
        c.id.trust_create(&bob_ctx, trust_to(&bob.id, &carol.id, &p.id, &["reader"]))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 403, "{msg}");
    let ac = NewApplicationCredential {
        name: "from-a-trust".into(),
        ..Default::default()
    };
    assert_eq!(
        c.id.app_cred_create(&bob_ctx, &bob.id, ac)
            .await
            .unwrap_err()
            .status(),
        403
    );

    // Deleting the trust ends its tokens at once.
    c.id.trust_delete(&alice_ctx, &t.id).await.unwrap();
    assert_eq!(
        c.id.validate_token(&bt.token).await.unwrap_err().status(),
        401
    );
    assert_eq!(
        status(
            as_user(&c, "bob", "pw-bob", ScopeRequest::Trust(t.id.clone()))
                .await
                .unwrap_err()
        )
        .0,
        404
    );
}

#[tokio::test]
async fn an_impersonating_trust_acts_as_the_trustor_and_ends_with_the_trustors_roles() {
    let c = cloud().await;
    let (alice, p, at) = c.member("alice", "apollo").await;
    let bob = c.user("bob", "pw-bob").await;
    let new = NewTrust {
        impersonation: true,
        ..trust_to(&alice.id, &bob.id, &p.id, &["member"])
    };
    let t = c.id.trust_create(&at.ctx("r"), new).await.unwrap();
    let bt = as_user(&c, "bob", "pw-bob", ScopeRequest::Trust(t.id.clone()))
        .await
        .unwrap();
    assert_eq!(
        bt.resolved.user_id, alice.id,
        "the token acts as the trustor"
    );
    assert_eq!(bt.ctx("r").user_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(role_names(&bt), vec!["member"]);

    // When Alice loses the role, Bob's trust tokens go with it.
    c.id.role_revoke(
        &c.admin,
        Grant {
            actor: Actor::User(alice.id.clone()),
            target: Target::Project(p.id.clone()),
            role_id: c.member_role_id.clone(),
        },
    )
    .await
    .unwrap();
    let (code, msg) = status(c.id.validate_token(&bt.token).await.unwrap_err());
    assert_eq!(code, 401);
    assert!(msg.contains("no longer holds"), "{msg}");
}

#[tokio::test]
async fn trusts_are_made_only_by_their_trustor_with_roles_it_holds() {
    let c = cloud().await;
    let (alice, p, at) = c.member("alice", "apollo").await;
    let bob = c.user("bob", "pw-bob").await;
    let ctx = at.ctx("r");
    let refused = |new: NewTrust| {
        let ctx = ctx.clone();
        let id = c.id.clone();
        async move { status(id.trust_create(&ctx, new).await.unwrap_err()) }
    };
    // Not held.
    let (code, msg) = refused(trust_to(&alice.id, &bob.id, &p.id, &["admin"])).await;
    assert_eq!(code, 403, "{msg}");
    // For someone else.
    let (code, _) = refused(trust_to(&bob.id, &alice.id, &p.id, &["member"])).await;
    assert_eq!(code, 403);
    // No roles, no project, zero uses, a past expiry, redelegation, a missing trustee.
    assert_eq!(
        refused(trust_to(&alice.id, &bob.id, &p.id, &[])).await.0,
        400
    );
    let no_project = NewTrust {
        project_id: None,
        ..trust_to(&alice.id, &bob.id, &p.id, &["member"])
    };
    assert_eq!(refused(no_project).await.0, 400);
    let zero = NewTrust {
        remaining_uses: Some(0),
        ..trust_to(&alice.id, &bob.id, &p.id, &["member"])
    };
    assert_eq!(refused(zero).await.0, 400);
    let past = NewTrust {
        expires_at: Some(ferrostack_core::time::now() - chrono::Duration::seconds(5)),
        ..trust_to(&alice.id, &bob.id, &p.id, &["member"])
    };
    assert_eq!(refused(past).await.0, 400);
    let redelegate = NewTrust {
        allow_redelegation: true,
        ..trust_to(&alice.id, &bob.id, &p.id, &["member"])
    };
    assert_eq!(refused(redelegate).await.0, 400);
    let nobody = trust_to(
        &alice.id,
        "0123456789abcdef0123456789abcdef",
        &p.id,
        &["member"],
    );
    assert_eq!(refused(nobody).await.0, 404);
    // Nothing was made.
    assert!(c
        .id
        .trust_list(&c.admin, None, None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_trust_with_three_uses_issues_three_tokens_however_many_ask_at_once() {
    let c = cloud().await;
    let (alice, p, at) = c.member("alice", "apollo").await;
    let bob = c.user("bob", "pw-bob").await;
    let expires = ferrostack_core::time::now() + chrono::Duration::minutes(10);
    let new = NewTrust {
        remaining_uses: Some(3),
        expires_at: Some(expires),
        ..trust_to(&alice.id, &bob.id, &p.id, &["member"])
    };
    let t = c.id.trust_create(&at.ctx("r"), new).await.unwrap();
    // Bob's own token, rescoped into the trust by 30 requests at once.
    let bob_token = as_user(&c, "bob", "pw-bob", ScopeRequest::Unscoped)
        .await
        .unwrap()
        .token;
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let id = c.id.clone();
        let (token, trust) = (bob_token.clone(), t.id.clone());
        tasks.push(tokio::spawn(async move {
            id.issue_token(AuthRequest {
                method: AuthMethod::Token { token },
                scope: ScopeRequest::Trust(trust),
            })
            .await
        }));
    }
    let mut issued = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(tok) => issued.push(tok),
            Err(e) => {
                assert_eq!(e.status(), 403, "{e}");
                refused += 1;
            }
        }
    }
    assert_eq!((issued.len(), refused), (3, 27));
    assert_eq!(
        c.id.trust_get(&c.admin, &t.id)
            .await
            .unwrap()
            .remaining_uses,
        Some(0)
    );
    // A trust token lives no longer than its trust.
    let limit = ferrostack_core::time::to_micros(&expires);
    assert!(issued.iter().all(|tok| tok.payload.expires_at_us <= limit));
}

#[tokio::test]
async fn implied_roles_reach_tokens_and_are_refused_when_they_would_cycle() {
    let c = cloud().await;
    // Bootstrap makes admin imply member and member imply reader, as Keystone's does.
    let admin = login(&c.id, "admin", ADMIN_PASSWORD, Some("admin"))
        .await
        .unwrap();
    assert_eq!(role_names(&admin), vec!["admin", "member", "reader"]);
    let inferences = c.id.role_inferences(&c.admin).await.unwrap();
    let pairs: Vec<(String, String)> = inferences
        .iter()
        .flat_map(|i| {
            i.implies
                .iter()
                .map(|r| (i.prior.name.clone(), r.name.clone()))
        })
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("admin".into(), "member".into()),
            ("member".into(), "reader".into())
        ]
    );

    let role = |name: &str| NewRole {
        name: name.into(),
        ..Default::default()
    };
    let auditor = c.id.role_create(&c.admin, role("auditor")).await.unwrap();
    let viewer = c.id.role_create(&c.admin, role("viewer")).await.unwrap();
    c.id.implied_role_create(&c.admin, &auditor.id, &viewer.id)
        .await
        .unwrap();
    // Twice is not an error.
    c.id.implied_role_create(&c.admin, &auditor.id, &viewer.id)
        .await
        .unwrap();
    let p = c.project("ledger").await;
    let u = c.user("una", "pw-una").await;
    c.grant(&u, &p, &auditor.id).await;
    let t = login(&c.id, "una", "pw-una", Some("ledger")).await.unwrap();
    assert_eq!(role_names(&t), vec!["auditor", "viewer"]);

    // A cycle, the admin role implied, a member refusing to administer: refused.
    let (code, msg) = status(
        c.id.implied_role_create(&c.admin, &viewer.id, &auditor.id)
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 400, "{msg}");
    assert_eq!(
        c.id.implied_role_create(&c.admin, &viewer.id, &viewer.id)
            .await
            .unwrap_err()
            .status(),
        400
    );
    assert_eq!(
        c.id.implied_role_create(&c.admin, &viewer.id, &c.admin_role_id)
            .await
            .unwrap_err()
            .status(),
        403
    );
    assert_eq!(
        c.id.implied_role_create(&t.ctx("r"), &viewer.id, &c.reader_role_id)
            .await
            .unwrap_err()
            .status(),
        403
    );

    // Removing the implication takes the implied role out of live tokens at once.
    c.id.implied_role_delete(&c.admin, &auditor.id, &viewer.id)
        .await
        .unwrap();
    let v = c.id.validate_token(&t.token).await.unwrap();
    assert_eq!(role_names(&v), vec!["auditor"]);
    assert_eq!(
        c.id.implied_role_get(&c.admin, &auditor.id, &viewer.id)
            .await
            .unwrap_err()
            .status(),
        404
    );
}

#[tokio::test]
async fn two_opposite_implications_made_at_once_never_both_land() {
    let c = cloud().await;
    for round in 0..10 {
        let a =
            c.id.role_create(
                &c.admin,
                NewRole {
                    name: format!("a{round}"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let b =
            c.id.role_create(
                &c.admin,
                NewRole {
                    name: format!("b{round}"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let (id1, id2) = (c.id.clone(), c.id.clone());
        let (ctx1, ctx2) = (c.admin.clone(), c.admin.clone());
        let (a1, b1, a2, b2) = (a.id.clone(), b.id.clone(), a.id.clone(), b.id.clone());
        let one = tokio::spawn(async move { id1.implied_role_create(&ctx1, &a1, &b1).await });
        let two = tokio::spawn(async move { id2.implied_role_create(&ctx2, &b2, &a2).await });
        let (one, two) = (one.await.unwrap(), two.await.unwrap());
        assert!(
            one.is_ok() != two.is_ok(),
            "round {round}: exactly one of a→b and b→a lands ({:?}, {:?})",
            one.map(|_| ()),
            two.map(|_| ())
        );
    }
}

#[tokio::test]
async fn a_domain_specific_role_is_listed_apart_and_never_in_a_token() {
    let c = cloud().await;
    let dsr =
        c.id.role_create(
            &c.admin,
            NewRole {
                name: "operator".into(),
                domain_id: Some("default".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(dsr.domain_id.as_deref(), Some("default"));
    // The same name may exist globally too.
    let global =
        c.id.role_create(
            &c.admin,
            NewRole {
                name: "operator".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let globals = c.id.role_list(&c.admin, None, None).await.unwrap();
    assert!(globals.iter().any(|r| r.id == global.id));
    assert!(!globals.iter().any(|r| r.id == dsr.id));
    let own =
        c.id.role_list(&c.admin, None, Some("default".into()))
            .await
            .unwrap();
    assert_eq!(
        own.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        vec![dsr.id.as_str()]
    );

    // Granted, it gives only the global roles it implies.
    c.id.implied_role_create(&c.admin, &dsr.id, &c.reader_role_id)
        .await
        .unwrap();
    let p = c.project("ops").await;
    let u = c.user("otto", "pw-otto").await;
    c.grant(&u, &p, &dsr.id).await;
    let t = login(&c.id, "otto", "pw-otto", Some("ops")).await.unwrap();
    assert_eq!(role_names(&t), vec!["reader"]);
    // A global role cannot imply a domain-specific one.
    assert_eq!(
        c.id.implied_role_create(&c.admin, &global.id, &dsr.id)
            .await
            .unwrap_err()
            .status(),
        403
    );
}
