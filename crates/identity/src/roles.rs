//! Roles: names that policy understands (admin, member, reader, and any an operator
//! adds).

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::error::unique_or;
use ferrostack_core::{ids, time, Ctx, Error, Result};
use ferrostack_types::identity::Role;

use crate::{policy, validate, Identity};

#[derive(Clone, Debug, Default)]
pub struct NewRole {
    pub name: String,
    pub description: String,
    /// A domain-specific role: named within its domain, never in a token.
    pub domain_id: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct RoleUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RoleRow {
    id: String,
    name: String,
    description: String,
    domain_id: Option<String>,
}

impl From<RoleRow> for Role {
    fn from(r: RoleRow) -> Self {
        Role {
            id: r.id,
            name: r.name,
            description: r.description,
            domain_id: r.domain_id,
        }
    }
}

const COLUMNS: &str = "SELECT id, name, description, domain_id FROM roles";
use ferrostack_types::identity::limits::ROLE_NAME_MAX;

impl Identity {
    pub async fn role_create(&self, ctx: &Ctx, new: NewRole) -> Result<Role> {
        policy::require_admin(ctx, "create_role")?;
        let name = validate::name("name", &new.name, ROLE_NAME_MAX)?;
        validate::text("description", &new.description, validate::DESCRIPTION_MAX)?;
        if let Some(d) = &new.domain_id {
            self.domain_fetch(d).await?;
        }
        let id = ids::new_id();
        let now = time::to_db(&time::now());
        sqlx::query("INSERT INTO roles (id, name, description, domain_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
            .bind(&id)
            .bind(&name)
            .bind(&new.description)
            .bind(&new.domain_id)
            .bind(&now)
            .execute(&self.db.pool)
            .await
            .map_err(|e| unique_or(e, || format!("Conflict occurred attempting to store role - Duplicate entry found with name {name}.")))?;
        self.role_fetch(&id).await
    }

    /// Role names are not secret: any authenticated caller may read them.
    pub async fn role_get(&self, _ctx: &Ctx, id: &str) -> Result<Role> {
        self.role_fetch(id).await
    }

    pub(crate) async fn role_fetch(&self, id: &str) -> Result<Role> {
        validate::id("role_id", id)?;
        sqlx::query_as::<_, RoleRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(Role::from)
            .ok_or_else(|| Error::not_found("role", id))
    }

    /// The global role of that name (domain-specific roles are named by id).
    pub(crate) async fn role_by_name(&self, name: &str) -> Result<Option<Role>> {
        Ok(sqlx::query_as::<_, RoleRow>(&format!(
            "{COLUMNS} WHERE domain_id IS NULL AND lower(name) = lower($1)"
        ))
        .bind(name)
        .fetch_optional(&self.db.pool)
        .await?
        .map(Role::from))
    }

    /// The global roles, or with `domain_id` that domain's own (Keystone lists them
    /// apart).
    pub async fn role_list(
        &self,
        _ctx: &Ctx,
        name: Option<String>,
        domain_id: Option<String>,
    ) -> Result<Vec<Role>> {
        let mut sql = Sql::new(COLUMNS);
        match domain_id {
            Some(d) => sql.push(" WHERE domain_id = ").bind(Arg::Text(d)),
            None => sql.push(" WHERE domain_id IS NULL"),
        };
        sql.and_eq("name", name.map(Arg::Text))
            .push(" ORDER BY name");
        sql.fetch_all::<RoleRow, Role>(&self.db.pool).await
    }

    pub async fn role_update(&self, ctx: &Ctx, id: &str, upd: RoleUpdate) -> Result<Role> {
        policy::require_admin(ctx, "update_role")?;
        let mut r = self.role_fetch(id).await?;
        if let Some(n) = upd.name {
            r.name = validate::name("name", &n, ROLE_NAME_MAX)?;
        }
        if let Some(d) = upd.description {
            validate::text("description", &d, validate::DESCRIPTION_MAX)?;
            r.description = d;
        }
        sqlx::query("UPDATE roles SET name = $2, description = $3, updated_at = $4 WHERE id = $1")
            .bind(&r.id)
            .bind(&r.name)
            .bind(&r.description)
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await
            .map_err(|e| unique_or(e, || format!("Conflict occurred attempting to update role - Duplicate entry found with name {}.", r.name)))?;
        self.changed().await?;
        Ok(r)
    }

    /// Delete a role and every assignment of it; tokens carrying it lose it at once.
    pub async fn role_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_role")?;
        let r = self.role_fetch(id).await?;
        if ["admin"].contains(&r.name.as_str()) {
            return Err(Error::conflict(
                "The admin role is needed to administer the cloud and cannot be deleted.",
            ));
        }
        // Holders of direct and of inherited grants.
        let holders: Vec<(String, String)> = sqlx::query_as(
            "SELECT actor_type, actor_id FROM role_assignments WHERE role_id = $1 \
             UNION SELECT actor_type, actor_id FROM inherited_assignments WHERE role_id = $1",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        let mut users = Vec::new();
        for (kind, actor) in holders {
            if kind == "user" {
                users.push(actor);
            } else {
                users.extend(self.group_member_ids(&actor).await?);
            }
        }
        users.sort();
        users.dedup();
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM role_assignments WHERE role_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM roles WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, self.user_revocations(users)).await
    }
}
