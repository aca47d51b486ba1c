//! A login flood cannot queue password checks without bound: past the queue's limit a
//! check is refused at once with "try again" (503 + Retry-After at the API), instead of
//! delaying every login behind it. Its own test binary, so that its flood does not
//! meet other tests' logins in the shared argon2 pool.

mod common;

use common::*;
use ferrostack_identity::passwords::{self, PasswordParams, MAX_QUEUED};

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_password_checks_is_refused_past_the_queue_limit_not_queued() {
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
