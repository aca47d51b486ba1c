//! Implied roles (`/v3/roles/{prior}/implies/{implied}`, `/v3/role_inferences`): holding
//! the prior role gives the implied one too. The rules are Keystone's: the graph stays
//! acyclic, `admin` is never implied, and a global role never implies a
//! domain-specific one. Effective roles — what a token carries — are the assigned
//! roles with every implication followed, less the domain-specific ones.

use std::collections::{BTreeMap, BTreeSet};

use ferrostack_core::db::Sql;
use ferrostack_core::{Ctx, Error, Result, RoleRef};
use ferrostack_types::identity::{Named, RoleInference};

use crate::assignments::TargetRef;
use crate::{policy, Identity};

/// Roles that may not be implied (Keystone's `prohibited_implied_role`).
const PROHIBITED_IMPLIED: &[&str] = &["admin"];

/// Every implication, prior → implied roles.
type Edges = BTreeMap<String, BTreeSet<String>>;

/// `start` and everything reachable from it (a cycle, which the writes refuse, would
/// still end: each role is visited once).
fn closure(edges: &Edges, start: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = start.into_iter().collect();
    while let Some(r) = todo.pop() {
        if seen.insert(r.clone()) {
            if let Some(next) = edges.get(&r) {
                todo.extend(next.iter().cloned());
            }
        }
    }
    seen
}

impl Identity {
    async fn implied_edges<'e>(
        &self,
        exec: impl sqlx::Executor<'e, Database = sqlx::Any>,
    ) -> Result<Edges> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT prior_role_id, implied_role_id FROM implied_roles")
                .fetch_all(exec)
                .await?;
        let mut edges = Edges::new();
        for (p, i) in rows {
            edges.entry(p).or_default().insert(i);
        }
        Ok(edges)
    }

    /// PUT /v3/roles/{prior}/implies/{implied}. Making one that exists again is not an
    /// error.
    pub async fn implied_role_create(
        &self,
        ctx: &Ctx,
        prior_id: &str,
        implied_id: &str,
    ) -> Result<RoleInference> {
        policy::require_admin(ctx, "create_implied_role")?;
        let prior = self.role_fetch(prior_id).await?;
        let implied = self.role_fetch(implied_id).await?;
        if PROHIBITED_IMPLIED.contains(&implied.name.as_str()) && implied.domain_id.is_none() {
            return Err(Error::forbidden(format!(
                "{} cannot be an implied role.",
                implied.name
            )));
        }
        if implied.domain_id.is_some() {
            return Err(Error::forbidden(format!(
                "Role {} is domain-specific: it may imply global roles but cannot be implied.",
                implied.name
            )));
        }
        // The generation is moved first: the transaction writes before it reads, so
        // two inferences made at once (a → b and b → a) are checked one after the
        // other and cannot close a cycle together.
        let mut tx = self.db.pool.begin().await?;
        crate::bump_generation(&mut *tx).await?;
        let edges = self.implied_edges(&mut *tx).await?;
        if prior.id == implied.id || closure(&edges, [implied.id.clone()]).contains(&prior.id) {
            return Err(Error::bad_request(format!(
                "Role {} already follows from {}: the implication would make a cycle.",
                prior.name, implied.name
            )));
        }
        // Inside a transaction a unique violation would abort it on PostgreSQL: an
        // inference made again is skipped instead.
        sqlx::query(
            "INSERT INTO implied_roles (prior_role_id, implied_role_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&prior.id)
        .bind(&implied.id)
        .execute(&mut *tx)
        .await?;
        self.commit(tx, Vec::new()).await?;
        Ok(RoleInference {
            prior: Named {
                id: prior.id,
                name: prior.name,
            },
            implies: vec![Named {
                id: implied.id,
                name: implied.name,
            }],
        })
    }

    /// GET/HEAD /v3/roles/{prior}/implies/{implied}: the inference, or 404.
    pub async fn implied_role_get(
        &self,
        _ctx: &Ctx,
        prior_id: &str,
        implied_id: &str,
    ) -> Result<RoleInference> {
        let prior = self.role_fetch(prior_id).await?;
        let implied = self.role_fetch(implied_id).await?;
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT prior_role_id FROM implied_roles WHERE prior_role_id = $1 AND implied_role_id = $2",
        )
        .bind(&prior.id)
        .bind(&implied.id)
        .fetch_optional(&self.db.pool)
        .await?;
        if found.is_none() {
            return Err(Error::NotFound {
                kind: "implied role",
                id: format!("{} implies {}", prior.name, implied.name),
            });
        }
        Ok(RoleInference {
            prior: Named {
                id: prior.id,
                name: prior.name,
            },
            implies: vec![Named {
                id: implied.id,
                name: implied.name,
            }],
        })
    }

    /// DELETE /v3/roles/{prior}/implies/{implied}. Tokens lose what only followed from
    /// it at once (their resolutions are dropped with the write).
    pub async fn implied_role_delete(
        &self,
        ctx: &Ctx,
        prior_id: &str,
        implied_id: &str,
    ) -> Result<()> {
        policy::require_admin(ctx, "delete_implied_role")?;
        self.implied_role_get(ctx, prior_id, implied_id).await?;
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM implied_roles WHERE prior_role_id = $1 AND implied_role_id = $2")
            .bind(prior_id)
            .bind(implied_id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, Vec::new()).await
    }

    /// GET /v3/roles/{prior}/implies: the roles `prior` implies directly.
    pub async fn implied_roles_of(&self, _ctx: &Ctx, prior_id: &str) -> Result<RoleInference> {
        let prior = self.role_fetch(prior_id).await?;
        let implies: Vec<(String, String)> = sqlx::query_as(
            "SELECT r.id, r.name FROM implied_roles i JOIN roles r ON r.id = i.implied_role_id \
             WHERE i.prior_role_id = $1 ORDER BY r.name",
        )
        .bind(&prior.id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(RoleInference {
            prior: Named {
                id: prior.id,
                name: prior.name,
            },
            implies: implies
                .into_iter()
                .map(|(id, name)| Named { id, name })
                .collect(),
        })
    }

    /// GET /v3/role_inferences: every prior role with what it implies directly.
    pub async fn role_inferences(&self, _ctx: &Ctx) -> Result<Vec<RoleInference>> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT p.id, p.name, r.id, r.name FROM implied_roles i \
             JOIN roles p ON p.id = i.prior_role_id JOIN roles r ON r.id = i.implied_role_id \
             ORDER BY p.name, r.name",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut out: Vec<RoleInference> = Vec::new();
        for (pid, pname, iid, iname) in rows {
            let implied = Named {
                id: iid,
                name: iname,
            };
            match out.last_mut() {
                Some(last) if last.prior.id == pid => last.implies.push(implied),
                _ => out.push(RoleInference {
                    prior: Named {
                        id: pid,
                        name: pname,
                    },
                    implies: vec![implied],
                }),
            }
        }
        Ok(out)
    }

    /// The roles `user_id` holds on `target`: assigned to it or its groups, every
    /// implication followed, domain-specific roles left out (they never reach a token).
    pub(crate) async fn effective_roles(
        &self,
        user_id: &str,
        target: &TargetRef,
    ) -> Result<Vec<RoleRef>> {
        let assigned = self.assigned_role_ids(user_id, target).await?;
        if assigned.is_empty() {
            return Ok(Vec::new());
        }
        let edges = self.implied_edges(&self.db.pool).await?;
        let all = closure(&edges, assigned);
        let mut sql = Sql::new("SELECT id, name FROM roles WHERE domain_id IS NULL AND id IN ");
        sql.in_list(all.iter().map(String::as_str).collect::<Vec<_>>())
            .push(" ORDER BY name");
        Ok(sql
            .query_as::<(String, String)>()
            .fetch_all(&self.db.pool)
            .await?
            .into_iter()
            .map(|(id, name)| RoleRef { id, name })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closure_follows_chains_and_ends_on_a_cycle() {
        let mut e = Edges::new();
        e.entry("admin".into()).or_default().insert("member".into());
        e.entry("member".into())
            .or_default()
            .insert("reader".into());
        e.entry("x".into()).or_default().insert("y".into());
        e.entry("y".into()).or_default().insert("x".into());
        let c = closure(&e, ["admin".to_string()]);
        assert_eq!(
            c.into_iter().collect::<Vec<_>>(),
            ["admin", "member", "reader"]
        );
        assert_eq!(closure(&e, ["x".to_string()]).len(), 2);
    }
}
