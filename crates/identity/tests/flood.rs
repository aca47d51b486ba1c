//! A login flood cannot queue password checks without bound: past the queue's limit a
//! check is refused at once with "try again" (503 + Retry-After at the API), instead of
//! delaying every login behind it. Its own test binary, so that its flood does not
//! meet other tests' logins in the shared argon2 pool.

mod common;

use common::*;
use ferrostack_identity::passwords::{self, PasswordParams, MAX_QUEUED};

/// The two tests fill the one queue: one at a time.
static QUEUE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_password_checks_is_refused_past_the_queue_limit_not_queued() {
    let _alone = QUEUE.lock().await;
    // Checks at the server's real cost (milliseconds each), submitted all at once.
    let hash = passwords::hash(PasswordParams::default(), "right-pw".into())
        .await
        .unwrap();
    let checks: Vec<_> = (0..400)
        .map(|i| {
            let h = hash.clone();
            tokio::spawn(async move { passwords::verify(h, format!("guess-{i}")).await })
        })
        .collect();
    let (mut busy, mut checked) = (0, 0);
    for c in checks {
        match c.await.unwrap() {
            Ok(ok) => {
                assert!(!ok);
                checked += 1;
            }
            Err(ferrostack_core::Error::Unavailable { retry_after, .. }) => {
                assert_eq!(retry_after, 1);
                busy += 1;
            }
            Err(e) => panic!("{}", e.detail()),
        }
    }
    assert!(busy > 0, "400 checks at once were all queued");
    assert!(checked >= MAX_QUEUED, "{checked} checked");
    // Once the flood is over, logins work again.
    let c = cloud().await;
    c.user("after-flood", "right-pw").await;
    login(&c.id, "after-flood", "right-pw", None)
        .await
        .expect("a login after the flood");
}

/// A login refused because the queue is full has used nothing: not one of its
/// account's lockout attempts (else a flood would lock everyone out).
#[tokio::test(flavor = "multi_thread")]
async fn a_login_refused_for_a_full_queue_uses_no_lockout_attempt() {
    let _alone = QUEUE.lock().await;
    let c = cloud().await;
    c.user("victim", "right-pw").await;
    // Every place in the queue taken, as a flood would.
    let held: Vec<_> = (0..MAX_QUEUED)
        .map(|_| passwords::reserve().expect("a place"))
        .collect();
    for i in 0..5 {
        let e = login(&c.id, "victim", &format!("wrong-{i}"), None)
            .await
            .expect_err("the queue is full");
        assert!(
            matches!(e, ferrostack_core::Error::Unavailable { .. }),
            "{}",
            e.detail()
        );
    }
    drop(held);
    // Five refusals, lockout after three: the account is not locked.
    login(&c.id, "victim", "right-pw", None)
        .await
        .expect("the right password, after five 503s");
}
