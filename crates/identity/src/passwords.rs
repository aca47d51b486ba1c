//! Password and secret hashing with argon2id. A hash is tens of milliseconds of CPU
//! and memory_kib of memory by design, so it runs on a small pool of dedicated threads
//! (one per core), never on the async runtime: at most one hash per core at a time
//! (more would not finish sooner and would let a burst of logins take memory_kib each),
//! and each thread reuses one memory block, so a login costs no page faults.

use std::cell::RefCell;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use ferrostack_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// argon2id cost parameters. The defaults are OWASP's first recommendation
/// (19 MiB, 2 passes, 1 lane); docs/benchmarks.md records what they cost here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordParams {
    /// Cheap parameters for tests that log in many times; never for a real cloud.
    pub fn for_tests() -> Self {
        PasswordParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn argon2(&self) -> Result<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| Error::internal(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

thread_local! {
    /// The argon2 working memory of this thread, kept between hashes.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < blocks {
            m.resize(blocks, Block::default());
        }
        f(&mut m[..blocks])
    })
}

/// Hash `secret` to a PHC string (`$argon2id$v=19$m=...`).
pub fn hash_blocking(params: &PasswordParams, secret: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    params
        .argon2()?
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("argon2 hash: {e}")))
}

/// Check `secret` against a stored PHC string, in constant time. The parameters come
/// from the string, so hashes made under older parameters still verify.
pub fn verify_blocking(phc: &str, secret: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Some(expected), Some(salt)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed.hash,
        parsed.salt,
    ) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let ok = with_memory(params.block_count(), |mem| {
        argon
            .hash_password_into_with_memory(secret.as_bytes(), salt, &mut out, mem)
            .is_ok()
    });
    // Output's equality is constant-time.
    ok && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

type Job = Box<dyn FnOnce() + Send>;

fn pool() -> &'static Sender<Job> {
    static POOL: OnceLock<Sender<Job>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(rx));
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        for i in 0..cores {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start an argon2 thread");
            }
        }
        tx
    })
}

/// A place in the password-check queue, taken before the check's other costs (such as
/// a lockout attempt) are spent: a login that would find the queue full is refused
/// before it has used anything. Given back when dropped unless a check used it.
pub struct Slot {
    held: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.held {
            QUEUED.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Take a place in the queue, or "try again" (503) when it is full.
pub fn reserve() -> Result<Slot> {
    use std::sync::atomic::Ordering;
    if QUEUED.fetch_add(1, Ordering::SeqCst) >= MAX_QUEUED {
        QUEUED.fetch_sub(1, Ordering::SeqCst);
        tracing::warn!("password checks are queued to the limit: refusing one");
        return Err(Error::Unavailable {
            message: "The server is busy checking passwords; try again in a moment.".into(),
            retry_after: 1,
        });
    }
    Ok(Slot { held: true })
}

async fn on_pool<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    on_pool_in(reserve()?, f).await
}

async fn on_pool_in<T: Send + 'static>(
    mut slot: Slot,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    // From here the job gives the place back when it starts.
    slot.held = false;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sent = pool().send(Box::new(move || {
        QUEUED.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        let _ = tx.send(f());
    }));
    if sent.is_err() {
        QUEUED.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        return Err(Error::internal("the argon2 pool has stopped"));
    }
    rx.await
        .map_err(|_| Error::internal("an argon2 job was dropped"))
}

pub async fn hash(params: PasswordParams, secret: String) -> Result<String> {
    on_pool(move || hash_blocking(&params, &secret)).await?
}

pub async fn verify(phc: String, secret: String) -> Result<bool> {
    verify_in(reserve()?, phc, secret).await
}

/// `verify` in a place already taken.
pub async fn verify_in(slot: Slot, phc: String, secret: String) -> Result<bool> {
    on_pool_in(slot, move || verify_blocking(&phc, &secret)).await
}

/// Spend what a real check costs on a login for a user that does not exist, so the
/// answer's timing does not tell who exists (a hash of a random secret, made once).
pub async fn verify_dummy(params: PasswordParams, secret: String) -> Result<()> {
    verify_dummy_in(reserve()?, params, secret).await
}

/// `verify_dummy` in a place already taken.
pub async fn verify_dummy_in(slot: Slot, params: PasswordParams, secret: String) -> Result<()> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = match DUMMY.get() {
        Some(h) => h.clone(),
        None => {
            let random = ferrostack_core::ids::new_id();
            let h = hash(params, random).await?;
            DUMMY.get_or_init(|| h).clone()
        }
    };
    verify_in(slot, phc, secret).await.map(|_| ())
}

/// Jobs waiting for an argon2 thread, and the most that may wait: past it a login is
/// answered "try again" (503 with Retry-After) at once, so a flood of logins cannot
/// delay every other login without bound.
static QUEUED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
pub const MAX_QUEUED: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_right_password() {
        let p = PasswordParams::for_tests();
        let h = hash_blocking(&p, "correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_blocking(&h, "correct horse"));
        assert!(!verify_blocking(&h, "correct horsE"));
        assert!(!verify_blocking("not a hash", "correct horse"));
        // The memory is reused across hashes of different sizes.
        let big = hash_blocking(
            &PasswordParams {
                memory_kib: 1024,
                ..p
            },
            "pw",
        )
        .unwrap();
        assert!(verify_blocking(&big, "pw") && verify_blocking(&h, "correct horse"));
    }

    #[test]
    fn hashes_from_the_reference_encoder_verify() {
        // Made by argon2's own PasswordHasher + PasswordVerifier, not by our verify.
        use argon2::password_hash::PasswordVerifier;
        let h = hash_blocking(&PasswordParams::for_tests(), "s3cret").unwrap();
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(Argon2::default()
            .verify_password(b"s3cret", &parsed)
            .is_ok());
        assert!(verify_blocking(&h, "s3cret"));
    }

    #[tokio::test]
    async fn async_hash_and_verify_give_the_blocking_answers() {
        let h = hash(PasswordParams::for_tests(), "pw".into())
            .await
            .unwrap();
        assert!(verify(h.clone(), "pw".into()).await.unwrap());
        assert!(!verify(h, "no".into()).await.unwrap());
    }
}
