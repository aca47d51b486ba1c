//! Tokens in Keystone's fernet model: nothing is stored. A token is an authenticated
//! encryption (XChaCha20-Poly1305) of a small binary payload (user, scope, methods,
//! times, audit ids) under one of the keys in the key repository, so validating one
//! needs no database round trip.
//!
//! The key repository is a directory of numbered files, as Keystone keeps it: `0` is
//! the staged key (next to become primary), the highest number is the primary key that
//! encrypts, and every key decrypts. `rotate` promotes the staged key, stages a new
//! one and drops the oldest beyond `max_active`. Tokens made under a dropped key stop
//! validating, so keep `max_active` above token lifetime / rotation interval + 1.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ferrostack_core::{Error, Result};
use rand::RngCore;

/// How the token's holder authenticated (Keystone's `methods`).
pub const METHOD_PASSWORD: u8 = 1;
pub const METHOD_TOKEN: u8 = 2;
pub const METHOD_APP_CRED: u8 = 4;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TokenScope {
    Unscoped,
    Project(String),
    Domain(String),
    System,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    pub user_id: String,
    pub methods: u8,
    pub scope: TokenScope,
    pub issued_at_us: i64,
    pub expires_at_us: i64,
    /// This token's audit id, then (for a rescoped token) the original's.
    pub audit_ids: Vec<String>,
    pub application_credential_id: Option<String>,
    /// The trust a trust-scoped token came from; `user_id` is then the trustee.
    pub trust_id: Option<String>,
}

const VERSION: u8 = 1;

impl Payload {
    pub fn method_names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.methods & METHOD_PASSWORD != 0 {
            v.push("password");
        }
        if self.methods & METHOD_TOKEN != 0 {
            v.push("token");
        }
        if self.methods & METHOD_APP_CRED != 0 {
            v.push("application_credential");
        }
        v
    }

    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(160);
        b.push(VERSION);
        b.push(self.methods);
        put_str(&mut b, &self.user_id);
        match &self.scope {
            TokenScope::Unscoped => b.push(0),
            TokenScope::Project(id) => {
                b.push(1);
                put_str(&mut b, id);
            }
            TokenScope::Domain(id) => {
                b.push(2);
                put_str(&mut b, id);
            }
            TokenScope::System => b.push(3),
        }
        b.extend_from_slice(&self.issued_at_us.to_be_bytes());
        b.extend_from_slice(&self.expires_at_us.to_be_bytes());
        b.push(self.audit_ids.len() as u8);
        for a in &self.audit_ids {
            put_str(&mut b, a);
        }
        match &self.application_credential_id {
            None => b.push(0),
            Some(id) => {
                b.push(1);
                put_str(&mut b, id);
            }
        }
        // Appended (tokens made before trusts end here and still open).
        if let Some(id) = &self.trust_id {
            b.push(1);
            put_str(&mut b, id);
        }
        b
    }

    fn decode(b: &[u8]) -> Option<Payload> {
        let mut r = Reader { b, at: 0 };
        if r.u8()? != VERSION {
            return None;
        }
        let methods = r.u8()?;
        let user_id = r.str()?;
        let scope = match r.u8()? {
            0 => TokenScope::Unscoped,
            1 => TokenScope::Project(r.str()?),
            2 => TokenScope::Domain(r.str()?),
            3 => TokenScope::System,
            _ => return None,
        };
        let issued_at_us = r.i64()?;
        let expires_at_us = r.i64()?;
        let n = r.u8()?;
        let mut audit_ids = Vec::with_capacity(n as usize);
        for _ in 0..n {
            audit_ids.push(r.str()?);
        }
        let application_credential_id = match r.u8()? {
            0 => None,
            1 => Some(r.str()?),
            _ => return None,
        };
        let trust_id = if r.at == b.len() {
            None
        } else {
            match r.u8()? {
                1 => Some(r.str()?),
                _ => return None,
            }
        };
        (r.at == b.len()).then_some(Payload {
            user_id,
            methods,
            scope,
            issued_at_us,
            expires_at_us,
            audit_ids,
            application_credential_id,
            trust_id,
        })
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    // Ids and audit ids are short; anything longer than 255 bytes is a bug upstream.
    let bytes = &s.as_bytes()[..s.len().min(255)];
    b.push(bytes.len() as u8);
    b.extend_from_slice(bytes);
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.at..self.at + n)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8)
            .map(|s| i64::from_be_bytes(s.try_into().unwrap_or([0; 8])))
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u8()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

/// The key repository on disk and the keys loaded from it.
pub struct KeyRing {
    dir: PathBuf,
    max_active: usize,
    /// Primary first, then the others (staged key last).
    keys: RwLock<Vec<XChaCha20Poly1305>>,
}

const NONCE_LEN: usize = 24;
const TOKEN_PREFIX: char = 'f';

impl KeyRing {
    /// Open the repository at `dir`, creating it with a primary and a staged key if
    /// it does not exist.
    pub fn open(dir: &Path, max_active: usize) -> Result<KeyRing> {
        let ring = KeyRing {
            dir: dir.to_path_buf(),
            max_active: max_active.max(2),
            keys: RwLock::new(Vec::new()),
        };
        if ring.key_numbers()?.is_empty() {
            fs::create_dir_all(dir)
                .map_err(|e| Error::internal(format!("create {}: {e}", dir.display())))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(Error::internal)?;
            ring.write_new_key(0)?;
            ring.rotate()?;
        }
        ring.reload()?;
        Ok(ring)
    }

    fn key_numbers(&self) -> Result<Vec<u32>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::internal(format!("read {}: {e}", self.dir.display()))),
        };
        let mut nums: Vec<u32> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
            .collect();
        nums.sort_unstable();
        Ok(nums)
    }

    fn write_new_key(&self, n: u32) -> Result<()> {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        ferrostack_core::files::write_private(
            &self.dir,
            &n.to_string(),
            STANDARD.encode(key).as_bytes(),
        )
    }

    /// Promote the staged key to primary, stage a new key, drop keys beyond
    /// `max_active`. Returns the new primary key's number.
    pub fn rotate(&self) -> Result<u32> {
        let nums = self.key_numbers()?;
        let next = nums.iter().max().copied().unwrap_or(0) + 1;
        if nums.contains(&0) {
            fs::rename(self.dir.join("0"), self.dir.join(next.to_string()))
                .map_err(Error::internal)?;
        } else {
            self.write_new_key(next)?;
        }
        self.write_new_key(0)?;
        let mut secondaries: Vec<u32> = self
            .key_numbers()?
            .into_iter()
            .filter(|n| *n != 0 && *n != next)
            .collect();
        // max_active counts staged + primary + secondaries.
        while secondaries.len() + 2 > self.max_active {
            let oldest = secondaries.remove(0);
            fs::remove_file(self.dir.join(oldest.to_string())).map_err(Error::internal)?;
        }
        self.reload()?;
        Ok(next)
    }

    /// Read the keys from disk again (after a rotation by another process).
    pub fn reload(&self) -> Result<()> {
        let mut nums = self.key_numbers()?;
        // Primary (highest) first, staged (0) last.
        nums.sort_unstable_by(|a, b| match (a, b) {
            (0, 0) => std::cmp::Ordering::Equal,
            (0, _) => std::cmp::Ordering::Greater,
            (_, 0) => std::cmp::Ordering::Less,
            _ => b.cmp(a),
        });
        let mut keys = Vec::with_capacity(nums.len());
        for n in nums {
            let path = self.dir.join(n.to_string());
            let text = fs::read_to_string(&path)
                .map_err(|e| Error::internal(format!("read {}: {e}", path.display())))?;
            let raw = STANDARD.decode(text.trim()).map_err(|e| {
                Error::internal(format!("key {} is not base64: {e}", path.display()))
            })?;
            let key = XChaCha20Poly1305::new_from_slice(&raw)
                .map_err(|_| Error::internal(format!("key {} is not 32 bytes", path.display())))?;
            keys.push(key);
        }
        if keys.len() < 2 {
            return Err(Error::internal(format!(
                "key repository {} has no primary key",
                self.dir.display()
            )));
        }
        *self
            .keys
            .write()
            .map_err(|_| Error::internal("key lock poisoned"))? = keys;
        Ok(())
    }

    /// Encrypt `plain` under the primary key: url-safe base64 of nonce + ciphertext.
    pub fn seal_bytes(&self, plain: &[u8]) -> Result<String> {
        let keys = self
            .keys
            .read()
            .map_err(|_| Error::internal("key lock poisoned"))?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = keys[0]
            .encrypt(XNonce::from_slice(&nonce), plain)
            .map_err(|_| Error::internal("encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypt what `seal_bytes` made under any key of the repository.
    pub fn open_bytes(&self, sealed: &str) -> Option<Vec<u8>> {
        self.open_with(sealed, usize::MAX)
    }

    /// Whether `sealed` was made under the primary key (what a rotation keeps longest).
    pub fn sealed_by_primary(&self, sealed: &str) -> bool {
        self.open_with(sealed, 1).is_some()
    }

    /// Decrypt under the first `keys` keys (primary first).
    fn open_with(&self, sealed: &str, keys: usize) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
        if raw.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let ring = self.keys.read().ok()?;
        ring.iter()
            .take(keys)
            .find_map(|k| k.decrypt(XNonce::from_slice(nonce), ct).ok())
    }

    pub fn seal(&self, p: &Payload) -> Result<String> {
        // A letter first: a token must never start with '-' (command lines would read it
        // as an option), and the letter marks the format version.
        Ok(format!("{TOKEN_PREFIX}{}", self.seal_bytes(&p.encode())?))
    }

    /// Decrypt and decode a token; `None` if no key opens it or it is malformed.
    /// Expiry and revocation are the caller's checks.
    pub fn open_token(&self, token: &str) -> Option<Payload> {
        if token.len() > 1024 {
            return None;
        }
        self.open_bytes(token.trim().strip_prefix(TOKEN_PREFIX)?)
            .and_then(|pt| Payload::decode(&pt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Payload {
        Payload {
            user_id: "0123456789abcdef0123456789abcdef".into(),
            methods: METHOD_PASSWORD | METHOD_TOKEN,
            scope: TokenScope::Project("fedcba9876543210fedcba9876543210".into()),
            issued_at_us: 1_700_000_000_000_000,
            expires_at_us: 1_700_003_600_000_000,
            audit_ids: vec!["AAAAAAAAAAAAAAAAAAAAAA".into()],
            application_credential_id: None,
            trust_id: None,
        }
    }

    #[test]
    fn token_round_trips_and_tampering_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::open(&dir.path().join("keys"), 3).unwrap();
        let t = ring.seal(&payload()).unwrap();
        assert_eq!(ring.open_token(&t), Some(payload()));
        // A trust-scoped payload carries its trust.
        let trusted = Payload {
            trust_id: Some("0123456789abcdef0123456789abcdee".into()),
            ..payload()
        };
        assert_eq!(
            ring.open_token(&ring.seal(&trusted).unwrap()),
            Some(trusted)
        );
        let mut bytes = t.into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(ring.open_token(&String::from_utf8(bytes).unwrap()), None);
        assert_eq!(ring.open_token("garbage!"), None);
        for _ in 0..64 {
            let t = ring.seal(&payload()).unwrap();
            assert!(t.starts_with('f') && !t.starts_with('-'), "{t}");
        }
    }

    #[test]
    fn rotation_keeps_recent_tokens_and_drops_old_keys() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let ring = KeyRing::open(&keys, 3).unwrap();
        let before = ring.seal(&payload()).unwrap();
        ring.rotate().unwrap();
        // Made under the old primary, now a secondary: still valid.
        assert!(ring.open_token(&before).is_some());
        let mode = fs::metadata(keys.join("0")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        ring.rotate().unwrap();
        // max_active = 3: staged, primary and one secondary; the first key is gone.
        assert_eq!(ring.key_numbers().unwrap().len(), 3);
        assert!(ring.open_token(&before).is_none());
    }
}
