//! The storage quota, in bytes: an upload (or a stage) reserves bytes as they arrive,
//! in steps, through core's atomic quota claims — so ten parallel uploads against a
//! quota of three uploads' worth cannot all pass, as they could when each compared its
//! size with what was used before any of them started. What an upload holds is also on
//! its image row (`reserved`), so a crash gives it back at the next start.

use ferrostack_core::{quotas, Error, Result};

use crate::Images;

pub(crate) const QUOTA_BYTES: &str = "image_bytes";
/// Bytes claimed at a time while data streams in (one database write per step).
const STEP: i64 = 64 << 20;

/// Bytes reserved for one image's data in flight.
pub(crate) struct Hold<'a> {
    images: &'a Images,
    id: String,
    owner: String,
    pub held: i64,
}

impl Images {
    pub(crate) fn hold(&self, id: &str, owner: &str) -> Hold<'_> {
        Hold {
            images: self,
            id: id.to_string(),
            owner: owner.to_string(),
            held: 0,
        }
    }

    /// The project's bytes in use (stored and reserved).
    pub(crate) async fn used_bytes(&self, owner: &str) -> Result<i64> {
        quotas::in_use(&self.db.pool, owner, QUOTA_BYTES).await
    }
}

fn over_quota(e: Error, limit: i64) -> Error {
    match e {
        Error::QuotaExceeded { used, .. } => Error::TooLarge(format!(
            "The upload exceeds the project's image storage quota: {used} of {limit} bytes are used or being uploaded."
        )),
        other => other,
    }
}

impl Hold<'_> {
    /// Make sure `total` bytes are reserved, claiming more when needed.
    pub async fn cover(&mut self, total: i64) -> Result<()> {
        if total <= self.held {
            return Ok(());
        }
        let need = total - self.held;
        let limit = self.images.cfg.quota_bytes;
        match self.claim(need.max(STEP)).await {
            Ok(()) => Ok(()),
            Err(Error::QuotaExceeded { .. }) if need < STEP => {
                self.claim(need).await.map_err(|e| over_quota(e, limit))
            }
            Err(e) => Err(over_quota(e, limit)),
        }
    }

    async fn claim(&mut self, n: i64) -> Result<()> {
        let mut tx = self.images.db.pool.begin().await?;
        // The image row first, then the project's usage row: the order every other
        // transaction touching both takes (a delete, an activation, a requeue), so a
        // claim racing a delete waits instead of deadlocking on PostgreSQL.
        let still = sqlx::query(
            "UPDATE images SET reserved = reserved + $2 WHERE id = $1 AND status IN ('saving', 'uploading')",
        )
        .bind(&self.id)
        .bind(n)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if still != 1 {
            // Deleted meanwhile: nothing to reserve for (the transaction rolls back).
            return Err(Error::not_found("image", &self.id));
        }
        // Over the quota: the transaction rolls back, the row's reservation with it.
        quotas::claim(
            &mut tx,
            &self.owner,
            QUOTA_BYTES,
            n,
            self.images.cfg.quota_bytes,
        )
        .await?;
        tx.commit().await?;
        self.held += n;
        Ok(())
    }

    /// Inside the transaction that stores the data as `size` bytes of the image (and
    /// sets its `reserved` to 0): give back what was held beyond that.
    pub async fn settle_in(&self, conn: &mut sqlx::AnyConnection, size: i64) -> Result<()> {
        if self.held > size {
            quotas::release(conn, &self.owner, QUOTA_BYTES, self.held - size).await?;
        } else if size > self.held {
            quotas::claim(conn, &self.owner, QUOTA_BYTES, size - self.held, i64::MAX).await?;
        }
        Ok(())
    }

    /// The data was refused or cut: give back everything held.
    pub async fn release_all(self) -> Result<()> {
        if self.held == 0 {
            return Ok(());
        }
        let mut tx = self.images.db.pool.begin().await?;
        let mine = sqlx::query("UPDATE images SET reserved = 0 WHERE id = $1 AND reserved > 0")
            .bind(&self.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // A deleted image's reservation was given back by its delete.
        if mine == 1 {
            quotas::release(&mut tx, &self.owner, QUOTA_BYTES, self.held).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Give back what an image's row holds (stored and reserved bytes), inside `conn`'s
/// transaction: a delete, a failed import, a restart's clean-up.
pub(crate) async fn release_row(
    conn: &mut sqlx::AnyConnection,
    owner: &str,
    size: Option<i64>,
    reserved: i64,
) -> Result<()> {
    let n = size.unwrap_or(0) + reserved;
    if n > 0 {
        quotas::release(conn, owner, QUOTA_BYTES, n).await?;
    }
    Ok(())
}
