//! Rotating the credential key repository (keystone-manage credential_rotate and
//! credential_migrate): no credential is ever left under a dropped key, even one a
//! server that has not reloaded the keys sealed under the old primary.

mod common;

use common::*;
use ferrostack_identity::NewCredential;

#[tokio::test]
async fn rotation_waits_for_migration_and_no_credential_is_lost() {
    let c = cloud().await;
    let user = c.user("keeper", "pw-keeper-1").await;
    // A second server that will not reload the keys until told.
    let stale = c.other_process().await;
    let mut ids = Vec::new();
    let make = |n: usize| NewCredential {
        user_id: user.id.clone(),
        project_id: None,
        credential_type: "cert".into(),
        blob: format!("secret-{n}"),
    };
    for n in 0..3 {
        ids.push(c.id.credential_create(&c.admin, make(n)).await.unwrap().id);
    }
    assert_eq!(c.id.credentials_behind().await.unwrap(), 0);
    c.id.credential_keys_rotate().await.unwrap();
    assert_eq!(c.id.credentials_behind().await.unwrap(), 3);
    // The stale server still seals under the old primary.
    ids.push(stale.credential_create(&c.admin, make(3)).await.unwrap().id);

    // Another rotation would drop the key they need: refused, saying what to run.
    let e = c.id.credential_keys_rotate().await.unwrap_err();
    assert_eq!(e.status(), 409, "{e}");
    assert!(e.to_string().contains("credential-migrate"), "{e}");
    assert_eq!(c.id.credential_keys_migrate().await.unwrap(), 4);
    assert_eq!(c.id.credentials_behind().await.unwrap(), 0);
    assert_eq!(
        c.id.credential_keys_migrate().await.unwrap(),
        0,
        "nothing left"
    );
    c.id.credential_keys_rotate().await.unwrap();

    // Two rotations on, every credential reads back, here and (once it reloads) there.
    for (n, id) in ids.iter().enumerate() {
        let got = c.id.credential_get(&c.admin, id).await.unwrap();
        assert_eq!(got.blob, format!("secret-{n}"));
    }
    // (The key now primary was the stale server's staged key: it decrypts with it.)
    stale.reload_keys().unwrap();
    for (n, id) in ids.iter().enumerate() {
        let got = stale.credential_get(&c.admin, id).await.unwrap();
        assert_eq!(got.blob, format!("secret-{n}"));
    }
}
