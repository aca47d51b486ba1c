//! Key pairs: per user. Imported public keys are parsed (type, base64 blob) and
//! fingerprinted as Nova does (MD5 of the blob, colon-separated hex); without a public
//! key the cloud generates an ed25519 pair with ssh-keygen and returns the private key
//! once, in the create answer — it is never stored.

use base64::Engine;
use ferrostack_core::{time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::compute::limits::{KEY_NAME_MAX, PUBLIC_KEY_MAX};
use ferrostack_types::compute::Keypair;

use crate::{Compute, KIND_KEYPAIR};

const KEY_TYPES: &[&str] = &[
    "ssh-rsa",
    "ssh-ed25519",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= KEY_NAME_MAX
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.' | '@'))
        && name.trim() == name;
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "Keypair data is invalid: the name must be 1 to {KEY_NAME_MAX} letters, digits, '-', '_', '.', '@' or inner spaces."
        )))
    }
}

/// Nova's fingerprint of an OpenSSH public key line.
pub(crate) fn fingerprint(public_key: &str) -> Result<String> {
    let bad = || Error::bad_request("Keypair data is invalid: failed to generate fingerprint.");
    if public_key.len() > PUBLIC_KEY_MAX {
        return Err(Error::bad_request(format!(
            "Keypair data is invalid: the public key is longer than {PUBLIC_KEY_MAX} bytes."
        )));
    }
    let mut parts = public_key.split_whitespace();
    let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else {
        return Err(bad());
    };
    if !KEY_TYPES.contains(&kind) {
        return Err(bad());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .map_err(|_| bad())?;
    // The blob starts with its own type name: it must agree with the line's.
    let declared = bytes
        .get(..4)
        .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
        .and_then(|n| bytes.get(4..4 + n))
        .ok_or_else(bad)?;
    if declared != kind.as_bytes() {
        return Err(bad());
    }
    let digest = openssl::hash::hash(openssl::hash::MessageDigest::md5(), &bytes)
        .map_err(Error::internal)?;
    Ok(digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":"))
}

#[derive(sqlx::FromRow)]
struct Row {
    user_id: String,
    name: String,
    r#type: String,
    public_key: String,
    fingerprint: String,
    created_at: String,
}

impl From<Row> for Keypair {
    fn from(r: Row) -> Keypair {
        Keypair {
            name: r.name,
            user_id: r.user_id,
            key_type: r.r#type,
            public_key: r.public_key,
            fingerprint: r.fingerprint,
            private_key: None,
            created_at: r.created_at,
        }
    }
}

impl Compute {
    /// The user a key-pair call is about: the caller, or (admins) the one named.
    fn keypair_user(ctx: &Ctx, user: Option<&str>) -> Result<String> {
        let me = ctx
            .user_id
            .clone()
            .ok_or_else(|| Error::forbidden("Key pairs belong to users."))?;
        match user {
            Some(u) if u != me => {
                ctx.authorize(Action::Admin, &Owned::of_user(KIND_KEYPAIR, u, u))?;
                Ok(u.to_string())
            }
            _ => Ok(me),
        }
    }

    /// Import `public_key`, or generate a pair when it is `None`.
    pub async fn keypair_create(
        &self,
        ctx: &Ctx,
        name: &str,
        public_key: Option<String>,
        key_type: Option<String>,
        user: Option<&str>,
    ) -> Result<Keypair> {
        let user = Self::keypair_user(ctx, user)?;
        check_name(name)?;
        let key_type = key_type.unwrap_or_else(|| "ssh".into());
        if !["ssh", "x509"].contains(&key_type.as_str()) {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'type': '{key_type}' is not one of ssh, x509."
            )));
        }
        let limit = self.quota_for(&ctx_project(ctx), "key_pairs").await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM keypairs WHERE user_id = $1")
            .bind(&user)
            .fetch_one(&self.db.pool)
            .await?;
        if limit >= 0 && count >= limit {
            return Err(Error::QuotaExceeded {
                resource: "key_pairs".into(),
                used: count,
                limit,
                asked: 1,
            });
        }
        let (public_key, private_key) = match public_key {
            Some(k) => (k.trim().to_string(), None),
            None => {
                let (public, private) = self.generate_keypair(name).await?;
                (public, Some(private))
            }
        };
        let fp = fingerprint(&public_key)?;
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO keypairs (user_id, name, type, public_key, fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&user)
        .bind(name)
        .bind(&key_type)
        .bind(&public_key)
        .bind(&fp)
        .bind(&now)
        .execute(&self.db.pool)
        .await
        .map_err(|e| {
            ferrostack_core::error::unique_or(e, || format!("Key pair '{name}' already exists."))
        })?;
        Ok(Keypair {
            name: name.to_string(),
            user_id: user,
            key_type,
            public_key,
            fingerprint: fp,
            private_key,
            created_at: now,
        })
    }

    async fn generate_keypair(&self, name: &str) -> Result<(String, String)> {
        let dir = self.cfg.dir.join("keygen");
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(Error::internal)?;
        let path = dir.join(ferrostack_core::ids::new_uuid());
        let out = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            tokio::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C"])
                .arg(format!("Generated-by-Ferrostack {name}"))
                .arg("-f")
                .arg(&path)
                .kill_on_drop(true)
                .output(),
        )
        .await;
        let result = async {
            match out {
                Ok(Ok(o)) if o.status.success() => {}
                Ok(Ok(o)) => {
                    return Err(Error::internal(format!(
                        "ssh-keygen: {}",
                        String::from_utf8_lossy(&o.stderr)
                    )))
                }
                Ok(Err(e)) => return Err(Error::internal(format!("ssh-keygen: {e}"))),
                Err(_) => return Err(Error::internal("ssh-keygen took longer than 30 s")),
            }
            let private = tokio::fs::read_to_string(&path)
                .await
                .map_err(Error::internal)?;
            let public = tokio::fs::read_to_string(path.with_extension("pub"))
                .await
                .map_err(Error::internal)?;
            Ok((public.trim().to_string(), private))
        }
        .await;
        let _ = tokio::fs::remove_file(&path).await;
        let _ = tokio::fs::remove_file(path.with_extension("pub")).await;
        result
    }

    pub async fn keypair_list(&self, ctx: &Ctx, user: Option<&str>) -> Result<Vec<Keypair>> {
        let user = Self::keypair_user(ctx, user)?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT user_id, name, type, public_key, fingerprint, created_at FROM keypairs WHERE user_id = $1 ORDER BY name",
        )
        .bind(&user)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(Keypair::from).collect())
    }

    pub async fn keypair_get(&self, ctx: &Ctx, name: &str, user: Option<&str>) -> Result<Keypair> {
        let user = Self::keypair_user(ctx, user)?;
        self.keypair_of(&user, name).await
    }

    pub(crate) async fn keypair_of(&self, user: &str, name: &str) -> Result<Keypair> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT user_id, name, type, public_key, fingerprint, created_at FROM keypairs WHERE user_id = $1 AND name = $2",
        )
        .bind(user)
        .bind(name)
        .fetch_optional(&self.db.pool)
        .await?;
        row.map(Keypair::from)
            .ok_or_else(|| Error::not_found("keypair", name))
    }

    pub async fn keypair_delete(&self, ctx: &Ctx, name: &str, user: Option<&str>) -> Result<()> {
        let user = Self::keypair_user(ctx, user)?;
        let n = sqlx::query("DELETE FROM keypairs WHERE user_id = $1 AND name = $2")
            .bind(&user)
            .bind(name)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::not_found("keypair", name));
        }
        Ok(())
    }
}

fn ctx_project(ctx: &Ctx) -> String {
    ctx.project_id().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_match_ssh_keygen_md5() {
        let dir = std::env::temp_dir().join(format!("fs-kp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k");
        let made = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
        let listed = std::process::Command::new("ssh-keygen")
            .args(["-l", "-E", "md5", "-f"])
            .arg(path.with_extension("pub"))
            .output()
            .unwrap();
        let listed = String::from_utf8(listed.stdout).unwrap();
        let theirs = listed
            .split_whitespace()
            .nth(1)
            .unwrap()
            .trim_start_matches("MD5:");
        assert_eq!(fingerprint(public.trim()).unwrap(), theirs);
        std::fs::remove_dir_all(&dir).unwrap();
        // A blob that says it is another type than the line, garbage, and nonsense.
        let blob = public.split_whitespace().nth(1).unwrap();
        assert!(fingerprint(&format!("ssh-rsa {blob}")).is_err());
        assert!(fingerprint("ssh-ed25519 !!!").is_err());
        assert!(fingerprint("nonsense").is_err());
    }
}
