//! Quotas: what a project uses of each counted resource, claimed inside the creating
//! transaction with one conditional update, so no number of parallel creates can pass
//! a limit (a count followed by an insert can: every request counts the same total).
//!
//! `quota_usage` holds one row per (project, resource). A create calls [`claim`] as the
//! first statement of its transaction and inserts its row after; a delete calls
//! [`release`] in its transaction. The row lock (PostgreSQL) or the single writer
//! (SQLite) serialises the claims; the check is in the update's WHERE.

use crate::{Error, Result};

/// Claim `amount` of `resource` for `project` against `limit`, inside `conn`'s
/// transaction. Refused with the numbers when the limit would be passed.
pub async fn claim(
    conn: &mut sqlx::AnyConnection,
    project: &str,
    resource: &str,
    amount: i64,
    limit: i64,
) -> Result<()> {
    // Writes first (SQLite takes its write lock here, so the update below cannot see a
    // stale count), and makes sure the row exists for the conditional update.
    sqlx::query(
        "INSERT INTO quota_usage (project_id, resource, in_use) VALUES ($1, $2, 0) \
         ON CONFLICT (project_id, resource) DO NOTHING",
    )
    .bind(project)
    .bind(resource)
    .execute(&mut *conn)
    .await?;
    let claimed = sqlx::query(
        "UPDATE quota_usage SET in_use = in_use + $3 \
         WHERE project_id = $1 AND resource = $2 AND in_use + $3 <= $4",
    )
    .bind(project)
    .bind(resource)
    .bind(amount)
    .bind(limit)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if claimed == 1 {
        return Ok(());
    }
    let used = in_use_in(conn, project, resource).await?;
    Err(Error::QuotaExceeded {
        resource: resource.to_string(),
        used,
        limit,
        asked: amount,
    })
}

/// Give back `amount` of `resource` (a delete, or a create that did not happen).
pub async fn release(
    conn: &mut sqlx::AnyConnection,
    project: &str,
    resource: &str,
    amount: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE quota_usage SET in_use = CASE WHEN in_use > $3 THEN in_use - $3 ELSE 0 END \
         WHERE project_id = $1 AND resource = $2",
    )
    .bind(project)
    .bind(resource)
    .bind(amount)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn in_use_in(conn: &mut sqlx::AnyConnection, project: &str, resource: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar(
            "SELECT in_use FROM quota_usage WHERE project_id = $1 AND resource = $2",
        )
        .bind(project)
        .bind(resource)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or(0),
    )
}

/// What `project` uses of `resource` now.
pub async fn in_use(pool: &sqlx::AnyPool, project: &str, resource: &str) -> Result<i64> {
    let mut conn = pool.acquire().await?;
    in_use_in(&mut conn, project, resource).await
}
