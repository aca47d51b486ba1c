//! Password and secret hashing with argon2id. Hashing is CPU work of tens of
//! milliseconds by design, so it always runs on the blocking pool, never on the
//! async runtime's threads.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
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

/// Hash `secret` to a PHC string (`$argon2id$v=19$m=...`).
pub fn hash_blocking(params: &PasswordParams, secret: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    params
        .argon2()?
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("argon2 hash: {e}")))
}

/// Check `secret` against a stored PHC string. The parameters come from the string,
/// so hashes made under older parameters still verify.
pub fn verify_blocking(phc: &str, secret: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub async fn hash(params: PasswordParams, secret: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&params, &secret))
        .await
        .map_err(Error::internal)?
}

pub async fn verify(phc: String, secret: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || verify_blocking(&phc, &secret))
        .await
        .map_err(Error::internal)
}

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
    }
}
