//! Groups of users, and their membership. A role granted to a group holds for each
//! member.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::error::unique_or;
use ferrostack_core::{ids, time, Ctx, Error, Result};
use ferrostack_types::identity::{Group, User};

use crate::{policy, validate, Identity, DEFAULT_DOMAIN_ID};

#[derive(Clone, Debug, Default)]
pub struct NewGroup {
    pub name: String,
    pub domain_id: Option<String>,
    pub description: String,
}

#[derive(Clone, Debug, Default)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: String,
    name: String,
    domain_id: String,
    description: String,
}

impl From<GroupRow> for Group {
    fn from(r: GroupRow) -> Self {
        Group {
            id: r.id,
            name: r.name,
            domain_id: r.domain_id,
            description: r.description,
        }
    }
}

const COLUMNS: &str = "SELECT id, name, domain_id, description FROM user_groups";

impl Identity {
    pub async fn group_create(&self, ctx: &Ctx, new: NewGroup) -> Result<Group> {
        policy::require_admin(ctx, "create_group")?;
        let name = validate::name("name", &new.name, validate::NAME_MAX)?;
        validate::text("description", &new.description, validate::DESCRIPTION_MAX)?;
        let domain_id = new
            .domain_id
            .unwrap_or_else(|| DEFAULT_DOMAIN_ID.to_string());
        self.domain_fetch(&domain_id).await.map_err(|_| {
            Error::bad_request(format!(
                "Invalid input for field 'domain_id': domain {domain_id} does not exist."
            ))
        })?;
        let id = ids::new_id();
        let now = time::to_db(&time::now());
        sqlx::query(
            "INSERT INTO user_groups (id, name, domain_id, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(&name)
        .bind(&domain_id)
        .bind(&new.description)
        .bind(&now)
        .execute(&self.db.pool)
        .await
        .map_err(|e| {
            unique_or(e, || {
                format!("Conflict occurred attempting to store group - Duplicate entry found with name {name} at domain ID {domain_id}.")
            })
        })?;
        self.group_fetch(&id).await
    }

    pub async fn group_get(&self, ctx: &Ctx, id: &str) -> Result<Group> {
        policy::require_admin(ctx, "get_group")?;
        self.group_fetch(id).await
    }

    pub(crate) async fn group_fetch(&self, id: &str) -> Result<Group> {
        validate::id("group_id", id)?;
        sqlx::query_as::<_, GroupRow>(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(Group::from)
            .ok_or_else(|| Error::not_found("group", id))
    }

    pub async fn group_list(
        &self,
        ctx: &Ctx,
        name: Option<String>,
        domain_id: Option<String>,
    ) -> Result<Vec<Group>> {
        policy::require_admin(ctx, "list_groups")?;
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1")
            .and_eq("name", name.map(Arg::Text))
            .and_eq("domain_id", domain_id.map(Arg::Text))
            .push(" ORDER BY name, id");
        sql.fetch_all::<GroupRow, Group>(&self.db.pool).await
    }

    pub async fn group_update(&self, ctx: &Ctx, id: &str, upd: GroupUpdate) -> Result<Group> {
        policy::require_admin(ctx, "update_group")?;
        let mut g = self.group_fetch(id).await?;
        if let Some(n) = upd.name {
            g.name = validate::name("name", &n, validate::NAME_MAX)?;
        }
        if let Some(d) = upd.description {
            validate::text("description", &d, validate::DESCRIPTION_MAX)?;
            g.description = d;
        }
        sqlx::query("UPDATE user_groups SET name = $2, description = $3, updated_at = $4 WHERE id = $1")
            .bind(&g.id)
            .bind(&g.name)
            .bind(&g.description)
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await
            .map_err(|e| {
                unique_or(e, || {
                    format!("Conflict occurred attempting to update group - Duplicate entry found with name {} at domain ID {}.", g.name, g.domain_id)
                })
            })?;
        Ok(g)
    }

    /// Delete a group; roles its members held through it end with it.
    pub async fn group_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        policy::require_admin(ctx, "delete_group")?;
        self.group_fetch(id).await?;
        let members = self.group_member_ids(id).await?;
        let mut tx = self.db.pool.begin().await?;
        for table in ["role_assignments", "inherited_assignments"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE actor_type = 'group' AND actor_id = $1"
            ))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM user_groups WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, self.user_revocations(members)).await
    }

    pub(crate) async fn group_member_ids(&self, id: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT user_id FROM group_members WHERE group_id = $1")
                .bind(id)
                .fetch_all(&self.db.pool)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    pub async fn group_add_user(&self, ctx: &Ctx, group_id: &str, user_id: &str) -> Result<()> {
        policy::require_admin(ctx, "add_user_to_group")?;
        self.group_fetch(group_id).await?;
        self.user_fetch(user_id).await?;
        let res = sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(group_id)
            .bind(user_id)
            .execute(&self.db.pool)
            .await;
        // Twice is not an error (Keystone answers 204 too).
        ferrostack_core::error::ok_if_exists(res)?;
        self.changed().await?;
        Ok(())
    }

    pub async fn group_check_user(&self, ctx: &Ctx, group_id: &str, user_id: &str) -> Result<()> {
        policy::require_admin_or_self(ctx, "check_user_in_group", user_id)?;
        self.group_fetch(group_id).await?;
        self.user_fetch(user_id).await?;
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT user_id FROM group_members WHERE group_id = $1 AND user_id = $2",
        )
        .bind(group_id)
        .bind(user_id)
        .fetch_optional(&self.db.pool)
        .await?;
        found.map(|_| ()).ok_or_else(|| Error::NotFound {
            kind: "membership",
            id: format!("user {user_id} in group {group_id}"),
        })
    }

    /// Remove a member; roles it held only through the group end at once.
    pub async fn group_remove_user(&self, ctx: &Ctx, group_id: &str, user_id: &str) -> Result<()> {
        policy::require_admin(ctx, "remove_user_from_group")?;
        self.group_check_user(ctx, group_id, user_id).await?;
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, self.user_revocations([user_id.to_string()]))
            .await
    }

    pub async fn group_users(&self, ctx: &Ctx, group_id: &str) -> Result<Vec<User>> {
        policy::require_admin(ctx, "list_users_in_group")?;
        self.group_fetch(group_id).await?;
        self.users_in_group(group_id).await
    }

    pub async fn user_groups(&self, ctx: &Ctx, user_id: &str) -> Result<Vec<Group>> {
        policy::require_admin_or_self(ctx, "list_groups_for_user", user_id)?;
        self.user_fetch(user_id).await?;
        Ok(sqlx::query_as::<_, GroupRow>(&format!(
            "{COLUMNS} WHERE id IN (SELECT group_id FROM group_members WHERE user_id = $1) ORDER BY name, id"
        ))
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?
        .into_iter()
        .map(Group::from)
        .collect())
    }
}
