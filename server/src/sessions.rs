//! Console sessions in the database (tower-sessions' `SessionStore` over our pool), so
//! a restart of the server signs nobody out. Expired sessions are never loaded and are
//! swept periodically.

use async_trait::async_trait;
use ferrostack_core::Db;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        DbSessionStore { db }
    }

    /// Remove sessions past their expiry; returns how many.
    pub async fn sweep(&self) -> Result<u64> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let r = sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
        Ok(r.rows_affected())
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A new id until it is unique (128 random bits: a retry is all but impossible).
        loop {
            let data =
                serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
            let r = sqlx::query(
                "INSERT INTO console_sessions (id, data, expires_at) VALUES ($1, $2, $3)",
            )
            .bind(record.id.to_string())
            .bind(data)
            .bind(record.expiry_date.unix_timestamp())
            .execute(&self.db.pool)
            .await;
            match r {
                Ok(_) => return Ok(()),
                Err(e) if ferrostack_core::error::is_unique_violation(&e) => {
                    record.id = Id::default()
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        sqlx::query(
            "INSERT INTO console_sessions (id, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(record.id.to_string())
        .bind(data)
        .bind(record.expiry_date.unix_timestamp())
        .execute(&self.db.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT data, expires_at FROM console_sessions WHERE id = $1 AND expires_at > $2",
        )
        .bind(id.to_string())
        .bind(now)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(backend)?;
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at)
                .map_err(|e| Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sqlx::query("DELETE FROM console_sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(secs_from_now: i64) -> Record {
        let mut data = std::collections::HashMap::new();
        data.insert("token".to_string(), serde_json::json!("abc"));
        Record {
            id: Id::default(),
            data,
            expiry_date: OffsetDateTime::now_utc() + time::Duration::seconds(secs_from_now),
        }
    }

    #[tokio::test]
    async fn a_session_outlives_the_store_that_made_it_but_not_its_expiry() {
        let db = Db::for_tests().await.unwrap();
        let store = DbSessionStore::new(db.clone());
        let mut live = record(3600);
        store.create(&mut live).await.unwrap();
        let mut dead = record(-1);
        store.create(&mut dead).await.unwrap();

        // A new store over the same database: what a restarted server has.
        let again = DbSessionStore::new(db);
        let loaded = again
            .load(&live.id)
            .await
            .unwrap()
            .expect("session survives");
        assert_eq!(loaded.data["token"], "abc");
        assert!(
            again.load(&dead.id).await.unwrap().is_none(),
            "expired sessions are not loaded"
        );
        assert_eq!(again.sweep().await.unwrap(), 1);

        live.data.insert("project".into(), serde_json::json!("p1"));
        again.save(&live).await.unwrap();
        assert_eq!(
            again.load(&live.id).await.unwrap().unwrap().data["project"],
            "p1"
        );
        again.delete(&live.id).await.unwrap();
        assert!(again.load(&live.id).await.unwrap().is_none());
    }
}
