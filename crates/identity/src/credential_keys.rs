//! Rotating the credential key repository, as `keystone-manage credential_rotate` and
//! `credential_migrate` do. The repository has a staged, a primary and at most one
//! older key; a rotation promotes the staged key and drops the oldest. So that no
//! credential is left under a dropped key, a rotation is refused while any credential
//! is not encrypted with the primary key, and `migrate` re-encrypts those under it.
//! A server that has not yet reloaded the keys (it does every 30 seconds) may still
//! seal under the previous primary: that key survives one more rotation, and the next
//! rotation is refused until `migrate` has moved what it sealed.

use ferrostack_core::{Error, Result};

use crate::Identity;

/// Rows read per step of a migration.
const PAGE: i64 = 500;

impl Identity {
    /// How many credentials are not encrypted with the primary credential key.
    pub async fn credentials_behind(&self) -> Result<u64> {
        let mut behind = 0;
        self.each_credential(|_, sealed| {
            if !self.credential_keys.sealed_by_primary(sealed) {
                behind += 1;
            }
        })
        .await?;
        Ok(behind)
    }

    /// Promote the staged credential key; refused (409, saying what to run) while a
    /// credential is not under the primary key. Returns the new primary's number.
    pub async fn credential_keys_rotate(&self) -> Result<u32> {
        self.credential_keys.reload()?;
        let behind = self.credentials_behind().await?;
        if behind > 0 {
            return Err(Error::conflict(format!(
                "{behind} credential(s) are not encrypted with the primary credential key, and a rotation could drop \
                 the key they need: run `ferrostack keys credential-migrate` first."
            )));
        }
        self.credential_keys.rotate()
    }

    /// Re-encrypt every credential not under the primary key with it. Each row is
    /// rewritten only if it still holds what was read (a concurrent update wins).
    /// Returns how many were moved.
    pub async fn credential_keys_migrate(&self) -> Result<u64> {
        self.credential_keys.reload()?;
        let mut stale = Vec::new();
        self.each_credential(|id, sealed| {
            if !self.credential_keys.sealed_by_primary(sealed) {
                stale.push((id.to_string(), sealed.to_string()));
            }
        })
        .await?;
        let mut moved = 0;
        for (id, old) in stale {
            let plain = self.credential_keys.open_bytes(&old).ok_or_else(|| {
                Error::internal(format!(
                    "credential {id} cannot be decrypted with any credential key; it was not migrated"
                ))
            })?;
            let r = sqlx::query(
                "UPDATE credentials SET blob_sealed = $2 WHERE id = $1 AND blob_sealed = $3",
            )
            .bind(&id)
            .bind(self.credential_keys.seal_bytes(&plain)?)
            .bind(&old)
            .execute(&self.db.pool)
            .await?;
            moved += r.rows_affected();
        }
        Ok(moved)
    }

    /// Visit every credential's id and sealed blob, a page at a time.
    async fn each_credential(&self, mut f: impl FnMut(&str, &str)) -> Result<()> {
        let mut after = String::new();
        loop {
            let page: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, blob_sealed FROM credentials WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(&after)
            .bind(PAGE)
            .fetch_all(&self.db.pool)
            .await?;
            for (id, sealed) in &page {
                f(id, sealed);
            }
            match page.last() {
                Some((id, _)) if page.len() as i64 == PAGE => after = id.clone(),
                _ => return Ok(()),
            }
        }
    }
}
