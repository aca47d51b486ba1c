//! Parallel guesses cannot get past the lockout. Its own test binary: its 200 guesses
//! fill the shared argon2 queue, which would make other tests' logins wait (503).

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_parallel_wrong_passwords_lock_the_account_after_three_checks() {
    let c = cloud().await;
    c.user("carol", "right-pw").await;
    let before = c.id.password_checks();
    let mut guesses = Vec::new();
    for i in 0..200 {
        let id = c.id.clone();
        guesses.push(tokio::spawn(async move {
            login(&id, "carol", &format!("guess-{i}"), None)
                .await
                .map(|_| ())
        }));
    }
    for g in guesses {
        let e = g.await.unwrap().unwrap_err();
        // Refused, or told to come back (the bounded queue of password checks: a
        // locked account's guesses cost a dummy hash, so they queue like others).
        assert!(matches!(e.status(), 401 | 503), "{}", e.detail());
    }
    // The lockout allows 3 failures: only 3 of the 200 guesses were checked at all.
    assert_eq!(c.id.password_checks() - before, 3);
    // And the account is locked: the right password is refused, unchecked.
    assert_eq!(
        login(&c.id, "carol", "right-pw", None)
            .await
            .unwrap_err()
            .status(),
        401
    );
    assert_eq!(c.id.password_checks() - before, 3);
}
