//! Domains: the namespaces that own projects, users and groups.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::error::unique_or;
use ferrostack_core::{ids, time, Ctx, Error, Result, Scope};
use ferrostack_types::identity::Domain;

use crate::revocations::Event;
use crate::{policy, validate, Identity};

#[derive(Clone, Debug, Default)]
pub struct NewDomain {
    /// Only bootstrap picks an id (`default`); clients get a generated one.
    pub id: Option<String>,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, Default)]
pub struct DomainUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct DomainRow {
    id: String,
    name: String,
    description: String,
    enabled: i64,
}

impl From<DomainRow> for Domain {
    fn from(r: DomainRow) -> Self {
        Domain {
            id: r.id,
            name: r.name,
            description: r.description,
            enabled: r.enabled != 0,
        }
    }
}

const COLUMNS: &str = "SELECT id, name, description, enabled FROM domains";

impl Identity {
    pub async fn domain_create(&self, ctx: &Ctx, new: NewDomain) -> Result<Domain> {
        policy::require_admin(ctx, "create_domain")?;
        let name = validate::name("name", &new.name, validate::NAME_MAX)?;
        validate::text("description", &new.description, validate::DESCRIPTION_MAX)?;
        let id = new.id.unwrap_or_else(ids::new_id);
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO domains (id, name, description, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(&name)
        .bind(&new.description)
        .bind(i64::from(new.enabled))
        .bind(&now)
        .execute(&self.db.pool)
        .await
        .map_err(|e| unique_or(e, || format!("Conflict occurred attempting to store domain - Duplicate entry found with name {name}.")))?;
        self.changed().await?;
        self.domain_get(ctx, &id).await
    }

    /// A domain the caller may see: any for an admin, else the caller's own domain or
    /// its project's domain.
    pub async fn domain_get(&self, ctx: &Ctx, id: &str) -> Result<Domain> {
        let d = self.domain_fetch(id).await?;
        let own = d.id == ctx.user_domain_id
            || matches!(&ctx.scope, Scope::Project { domain_id, .. } if *domain_id == d.id)
            || matches!(&ctx.scope, Scope::Domain { id, .. } if *id == d.id);
        ctx.authorize(
            ferrostack_core::Action::Read,
            &ferrostack_core::Owned::of_cloud("domain", id).visible(own),
        )?;
        Ok(d)
    }

    pub(crate) async fn domain_fetch(&self, id: &str) -> Result<Domain> {
        validate::id("domain_id", id)?;
        sqlx::query_as::<_, DomainRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(Domain::from)
            .ok_or_else(|| Error::not_found("domain", id))
    }

    /// The domains with these ids, in one query.
    pub(crate) async fn domains_by_ids<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Domain>> {
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE id IN ")
            .in_list(ids)
            .push(" ORDER BY name");
        sql.fetch_all::<DomainRow, Domain>(&self.db.pool).await
    }

    pub(crate) async fn domain_by_name(&self, name: &str) -> Result<Domain> {
        sqlx::query_as::<_, DomainRow>(&format!("{COLUMNS} WHERE lower(name) = lower($1)"))
            .bind(name)
            .fetch_optional(&self.db.pool)
            .await?
            .map(Domain::from)
            .ok_or_else(|| Error::not_found("domain", name))
    }

    pub async fn domain_list(
        &self,
        ctx: &Ctx,
        name: Option<String>,
        enabled: Option<bool>,
    ) -> Result<Vec<Domain>> {
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1")
            .and_eq("name", name.map(Arg::Text))
            .and_eq("enabled", enabled.map(Arg::Bool));
        if !ctx.is_admin() {
            sql.and_eq("id", Some(Arg::Text(ctx.user_domain_id.clone())));
        }
        sql.push(" ORDER BY name");
        sql.fetch_all::<DomainRow, Domain>(&self.db.pool).await
    }

    pub async fn domain_update(&self, ctx: &Ctx, id: &str, upd: DomainUpdate) -> Result<Domain> {
        policy::require_admin(ctx, "update_domain")?;
        let mut d = self.domain_fetch(id).await?;
        if let Some(n) = upd.name {
            d.name = validate::name("name", &n, validate::NAME_MAX)?;
        }
        if let Some(desc) = upd.description {
            validate::text("description", &desc, validate::DESCRIPTION_MAX)?;
            d.description = desc;
        }
        let disabling = upd.enabled == Some(false) && d.enabled;
        if let Some(e) = upd.enabled {
            d.enabled = e;
        }
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("UPDATE domains SET name = $2, description = $3, enabled = $4, updated_at = $5 WHERE id = $1")
            .bind(&d.id)
            .bind(&d.name)
            .bind(&d.description)
            .bind(i64::from(d.enabled))
            .bind(time::to_db(&time::now()))
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_or(e, || format!("Conflict occurred attempting to update domain - Duplicate entry found with name {}.", d.name)))?;
        let mut events = Vec::new();
        if disabling {
            // Every token the domain's disabling ends: domain-scoped ones, those scoped
            // to its projects, and its users' (so none comes back if it is re-enabled).
            events.push(self.revocation_event(Event {
                domain_id: Some(d.id.clone()),
                ..Default::default()
            }));
            let projects: Vec<String> =
                sqlx::query_scalar("SELECT id FROM projects WHERE domain_id = $1")
                    .bind(&d.id)
                    .fetch_all(&mut *tx)
                    .await?;
            for p in projects {
                events.push(self.revocation_event(Event {
                    project_id: Some(p),
                    ..Default::default()
                }));
            }
            let users: Vec<String> =
                sqlx::query_scalar("SELECT id FROM users WHERE domain_id = $1")
                    .bind(&d.id)
                    .fetch_all(&mut *tx)
                    .await?;
            events.extend(self.user_revocations(users));
        }
        self.commit(tx, events).await?;
        Ok(d)
    }

    /// Delete a disabled domain that no longer holds projects, users or groups.
    pub async fn domain_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_domain")?;
        let d = self.domain_fetch(id).await?;
        if d.enabled {
            return Err(Error::forbidden(format!(
                "Cannot delete a domain that is enabled, please disable it first (domain {}).",
                d.name
            )));
        }
        if let Some(me) = &ctx.user_id {
            if self.user_fetch(me).await.is_ok_and(|u| u.domain_id == id) {
                return Err(Error::conflict(
                    "You cannot delete the domain of the user you are signed in as.",
                ));
            }
        }
        // Keystone's cascade: the domain's projects, users and groups go with it, with
        // their grants, memberships, credentials and trusts, and their tokens end.
        // Write first: the domain's row (still disabled) is locked before anything is
        // read, so nothing is added to the domain while it goes.
        let mut tx = self.db.pool.begin().await?;
        let locked = sqlx::query("UPDATE domains SET enabled = 0 WHERE id = $1 AND enabled = 0")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if locked == 0 {
            return Err(Error::conflict(format!(
                "Domain {} was enabled meanwhile; disable it again to delete it.",
                d.name
            )));
        }
        let mut ids = Vec::new();
        for table in ["projects", "users"] {
            let q = format!("SELECT id FROM {table} WHERE domain_id = $1");
            let rows: Vec<String> = sqlx::query_scalar(&q).bind(id).fetch_all(&mut *tx).await?;
            ids.push(rows);
        }
        let (users, projects) = (ids.pop().unwrap_or_default(), ids.pop().unwrap_or_default());
        // Grants (direct and inherited) on the domain or its projects, and those held
        // by its users and groups.
        for grants in ["role_assignments", "inherited_assignments"] {
            let by = [
                "target_type = 'project' AND target_id IN (SELECT id FROM projects WHERE domain_id = $1)",
                "target_type = 'domain' AND target_id = $1",
                "actor_type = 'user' AND actor_id IN (SELECT id FROM users WHERE domain_id = $1)",
                "actor_type = 'group' AND actor_id IN (SELECT id FROM user_groups WHERE domain_id = $1)",
            ];
            for cond in by {
                sqlx::query(&format!("DELETE FROM {grants} WHERE {cond}"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query(
            "UPDATE users SET default_project_id = NULL WHERE default_project_id IN \
             (SELECT id FROM projects WHERE domain_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        // Memberships, application credentials, credentials, trusts and endpoint
        // filters cascade from these rows.
        for table in ["user_groups", "users", "projects"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE domain_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // Its own roles go with it (their assignments and implications cascade).
        sqlx::query("DELETE FROM roles WHERE domain_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM domains WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let mut events = self.user_revocations(users);
        events.extend(projects.into_iter().map(|p| {
            self.revocation_event(crate::revocations::Event {
                project_id: Some(p),
                ..Default::default()
            })
        }));
        self.commit(tx, events).await
    }
}
