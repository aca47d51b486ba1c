//! Token revocation. Tokens are not stored, so revoking one records an event that
//! matches it (Keystone's revocation events): by audit id for one token, by user for
//! "everything this user holds", by project, by user on a project (a role revoked).
//! Events live in the database and in memory; validation checks the memory copy only.

use std::collections::HashMap;
use std::sync::RwLock;

use ferrostack_core::{ids, time, Db, Error, Result};

use crate::tokens::{Payload, TokenScope};

#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Event {
    /// The event's row id (empty until stored).
    #[sqlx(default)]
    pub id: String,
    pub audit_id: Option<String>,
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub application_credential_id: Option<String>,
    pub issued_before_us: i64,
    pub prune_after_us: i64,
}

#[derive(sqlx::FromRow)]
struct EventWithTime {
    #[sqlx(flatten)]
    event: Event,
    created_at: String,
}

impl Event {
    fn matches(&self, p: &Payload) -> bool {
        if p.issued_at_us > self.issued_before_us {
            return false;
        }
        if let Some(a) = &self.audit_id {
            if p.audit_ids.first() != Some(a) {
                return false;
            }
        }
        if let Some(u) = &self.user_id {
            if &p.user_id != u {
                return false;
            }
        }
        if let Some(pr) = &self.project_id {
            if p.scope != TokenScope::Project(pr.clone()) {
                return false;
            }
        }
        if let Some(d) = &self.domain_id {
            if p.scope != TokenScope::Domain(d.clone()) {
                return false;
            }
        }
        if let Some(ac) = &self.application_credential_id {
            if p.application_credential_id.as_ref() != Some(ac) {
                return false;
            }
        }
        true
    }
}

#[derive(Default)]
struct Inner {
    /// Ids of the events known here (to read other processes' events only once).
    known: HashMap<String, i64>,
    /// The newest `created_at` read from the table.
    read_up_to: String,
    /// Single-token revocations, by the token's own audit id: the common case, so a
    /// set rather than a scan.
    audit_ids: HashMap<String, i64>,
    /// Every other event (by user, project, domain, credential): few, scanned.
    others: Vec<Event>,
}

#[derive(Default)]
pub struct Revocations {
    inner: RwLock<Inner>,
}

impl Revocations {
    pub async fn load(db: &Db) -> Result<Revocations> {
        let now = time::to_micros(&time::now());
        sqlx::query("DELETE FROM revocation_events WHERE prune_after < $1")
            .bind(now)
            .execute(&db.pool)
            .await?;
        // Column names match the struct's fields but for the unit suffix.
        let r = Revocations::default();
        r.sync(db).await?;
        Ok(r)
    }

    /// Read events other processes sharing the database stored since the last read
    /// (with a margin for clocks; each event is taken once). Returns how many were new
    /// and whether any of them can match more than one token (then cached
    /// resolutions must go).
    pub async fn sync(&self, db: &Db) -> Result<(usize, bool)> {
        let since = self
            .inner
            .read()
            .map(|i| i.read_up_to.clone())
            .unwrap_or_default();
        let margin = time::from_db(&since)
            .map(|t| time::to_db(&(t - chrono::Duration::seconds(5))))
            .unwrap_or_default();
        let rows: Vec<(Event, String)> = sqlx::query_as::<_, EventWithTime>(
            "SELECT id, audit_id, user_id, project_id, domain_id, application_credential_id, \
             issued_before AS issued_before_us, prune_after AS prune_after_us, created_at FROM revocation_events \
             WHERE created_at >= $1 ORDER BY created_at",
        )
        .bind(&margin)
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(|r| (r.event, r.created_at))
        .collect();
        let (mut fresh, mut broad) = (0, false);
        for (e, at) in rows {
            let known = self
                .inner
                .read()
                .map(|i| i.known.contains_key(&e.id))
                .unwrap_or(true);
            if let Ok(mut i) = self.inner.write() {
                if at > i.read_up_to {
                    i.read_up_to = at;
                }
            }
            if known {
                continue;
            }
            fresh += 1;
            broad |= e.audit_id.is_none();
            self.remember(e);
        }
        Ok((fresh, broad))
    }

    fn remember(&self, e: Event) {
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        if !e.id.is_empty() {
            inner.known.insert(e.id.clone(), e.prune_after_us);
        }
        let only_audit = e.audit_id.is_some()
            && e.user_id.is_none()
            && e.project_id.is_none()
            && e.domain_id.is_none()
            && e.application_credential_id.is_none();
        match (only_audit, &e.audit_id) {
            (true, Some(a)) => {
                inner.audit_ids.insert(a.clone(), e.prune_after_us);
            }
            _ => inner.others.push(e),
        }
    }

    /// Record `e` in the database (inside the caller's transaction, so the event
    /// commits with the change that caused it) — call [`Revocations::publish`] after
    /// the commit.
    pub async fn store(tx: &mut sqlx::AnyConnection, e: &mut Event) -> Result<()> {
        if e.id.is_empty() {
            e.id = ids::new_id();
        }
        sqlx::query(
            "INSERT INTO revocation_events (id, audit_id, user_id, project_id, domain_id, \
             application_credential_id, issued_before, prune_after, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&e.id)
        .bind(&e.audit_id)
        .bind(&e.user_id)
        .bind(&e.project_id)
        .bind(&e.domain_id)
        .bind(&e.application_credential_id)
        .bind(e.issued_before_us)
        .bind(e.prune_after_us)
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    pub fn publish(&self, events: Vec<Event>) {
        for e in events {
            self.remember(e);
        }
    }

    /// Forget events past their prune time, here and in the database.
    pub async fn prune(&self, db: &Db) -> Result<u64> {
        let now = time::to_micros(&time::now());
        let n = sqlx::query("DELETE FROM revocation_events WHERE prune_after < $1")
            .bind(now)
            .execute(&db.pool)
            .await?
            .rows_affected();
        if let Ok(mut inner) = self.inner.write() {
            inner.others.retain(|e| e.prune_after_us >= now);
            inner.audit_ids.retain(|_, prune_after| *prune_after >= now);
            inner.known.retain(|_, prune_after| *prune_after >= now);
        }
        Ok(n)
    }

    pub fn count(&self) -> usize {
        self.inner
            .read()
            .map(|i| i.audit_ids.len() + i.others.len())
            .unwrap_or(0)
    }

    pub fn is_revoked(&self, p: &Payload) -> bool {
        let Ok(inner) = self.inner.read() else {
            return true;
        };
        if let Some(a) = p.audit_ids.first() {
            if inner.audit_ids.contains_key(a) {
                return true;
            }
        }
        inner.others.iter().any(|e| e.matches(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(user: &str, project: &str, issued: i64) -> Payload {
        Payload {
            user_id: user.into(),
            methods: 1,
            scope: TokenScope::Project(project.into()),
            issued_at_us: issued,
            expires_at_us: issued + 3_600_000_000,
            audit_ids: vec![format!("audit-{user}-{issued}")],
            application_credential_id: None,
            trust_id: None,
        }
    }

    #[test]
    fn events_match_only_what_they_name_and_only_older_tokens() {
        let r = Revocations::default();
        r.publish(vec![Event {
            user_id: Some("u1".into()),
            project_id: Some("p1".into()),
            issued_before_us: 100,
            prune_after_us: i64::MAX,
            ..Default::default()
        }]);
        assert!(r.is_revoked(&token("u1", "p1", 100)));
        assert!(
            !r.is_revoked(&token("u1", "p1", 101)),
            "a token issued after the event stays valid"
        );
        assert!(
            !r.is_revoked(&token("u1", "p2", 50)),
            "another project is untouched"
        );
        assert!(
            !r.is_revoked(&token("u2", "p1", 50)),
            "another user is untouched"
        );

        let t = token("u3", "p1", 10);
        r.publish(vec![Event {
            audit_id: t.audit_ids.first().cloned(),
            issued_before_us: 10,
            prune_after_us: i64::MAX,
            ..Default::default()
        }]);
        assert!(r.is_revoked(&t));
        assert!(!r.is_revoked(&token("u3", "p1", 9)));
    }
}
