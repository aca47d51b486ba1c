//! A login flood cannot queue password checks without bound: past the queue's limit a
//! check is refused at once with "try again" (503 + Retry-After at the API), instead of
//! delaying every login behind it. Its own test binary, so that its flood does not
//! meet other tests' logins in the shared argon2 pool.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_logins_is_refused_past_the_queue_limit_not_queued() {
    let c = cloud().await;
    c.user("flood-target", "right-pw").await;
    let mut tries = Vec::new();
    for i in 0..400 {
        let id = c.id.clone();
        tries.push(tokio::spawn(async move {
            login(&id, &format!("nobody-{i}"), "x", None)
                .await
                .map(|_| ())
        }));
    }
    let (mut busy, mut refused) = (0, 0);
    for t in tries {
        match t.await.unwrap() {
            Err(ferrostack_core::Error::Unavailable { retry_after, .. }) => {
                assert_eq!(retry_after, 1);
                busy += 1;
            }
            Err(e) => {
                assert_eq!(e.status(), 401);
                refused += 1;
            }
            Ok(()) => panic!("a login of nobody passed"),
        }
    }
    assert!(busy > 0, "400 logins at once were all queued");
    assert!(
        refused >= ferrostack_identity::passwords::MAX_QUEUED,
        "{refused} checked"
    );
    // Once the flood is over, logins work again.
    login(&c.id, "flood-target", "right-pw", None)
        .await
        .expect("a login after the flood");
}
