//! Metadata definitions (Glance's metadefs): namespaces that describe properties,
//! objects (groups of properties) and tags an operator offers for resources such as
//! images, flavors and volumes, and which resource types each namespace applies to.
//!
//! Reads follow the namespace's visibility (public: everyone; private: its owner
//! project and admins); writes are admins' (Glance's `metadef_admin` default). Every
//! change takes the namespace's row first (write-first), so two changes to one
//! namespace serialise, and a namespace holds at most [`ITEMS_MAX`] items of a kind.

use ferrostack_core::error::unique_or;
use ferrostack_core::{ids, time, Ctx, Error, Result};
use serde_json::{Map, Value};

use crate::metadefs_check::check_text;
pub use crate::metadefs_check::{check_name, check_object, check_property};
use crate::Images;

/// Items (properties, objects or tags) of one kind a namespace may hold.
pub const ITEMS_MAX: i64 = 1000;
/// Namespaces the cloud may hold.
pub const NAMESPACES_MAX: i64 = 10_000;
pub(crate) const NAME_MAX: usize = 80;
pub(crate) const DESCRIPTION_MAX: usize = 500;
/// The JSON-schema types a property definition may have.
pub const PROPERTY_TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Property,
    Object,
    Tag,
}

impl ItemKind {
    fn db(self) -> &'static str {
        match self {
            ItemKind::Property => "property",
            ItemKind::Object => "object",
            ItemKind::Tag => "tag",
        }
    }
    fn what(self) -> &'static str {
        match self {
            ItemKind::Property => "metadata definition property",
            ItemKind::Object => "metadata definition object",
            ItemKind::Tag => "metadata definition tag",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Namespace {
    pub id: String,
    pub namespace: String,
    pub display_name: String,
    pub description: String,
    pub visibility: String,
    pub protected: bool,
    pub owner: String,
    pub created_at: String,
    pub updated_at: String,
}

/// What a caller gives for a namespace (create, or PUT which replaces these fields).
#[derive(Clone, Debug, Default)]
pub struct NamespaceIn {
    pub namespace: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<String>,
    pub protected: Option<bool>,
    pub owner: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Item {
    pub name: String,
    pub body: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Association {
    pub name: String,
    pub prefix: Option<String>,
    pub properties_target: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct NsRow {
    id: String,
    namespace: String,
    display_name: String,
    description: String,
    visibility: String,
    protected: i64,
    owner: String,
    created_at: String,
    updated_at: String,
}

impl From<NsRow> for Namespace {
    fn from(r: NsRow) -> Self {
        Namespace {
            id: r.id,
            namespace: r.namespace,
            display_name: r.display_name,
            description: r.description,
            visibility: r.visibility,
            protected: r.protected != 0,
            owner: r.owner,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const NS_COLUMNS: &str = "SELECT id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at FROM metadef_namespaces";

impl Images {
    /// The namespace `ns` as `ctx` may see it (404 when it may not, as for a
    /// private image of another project).
    pub async fn metadef_namespace(&self, ctx: &Ctx, ns: &str) -> Result<Namespace> {
        check_name("namespace", ns)?;
        let n: Namespace =
            sqlx::query_as::<_, NsRow>(&format!("{NS_COLUMNS} WHERE namespace = $1"))
                .bind(ns)
                .fetch_optional(&self.db.pool)
                .await?
                .map(Namespace::from)
                .ok_or_else(|| Error::not_found("metadata definition namespace", ns))?;
        if n.visibility == "public" || ctx.is_admin() || ctx.project_id() == Some(n.owner.as_str())
        {
            Ok(n)
        } else {
            Err(Error::not_found("metadata definition namespace", ns))
        }
    }

    /// The namespaces `ctx` sees, by name, after `marker` (a namespace name), at most
    /// `limit`; optionally only those of `visibility` or associated with `resource_type`.
    pub async fn metadef_namespaces(
        &self,
        ctx: &Ctx,
        visibility: Option<&str>,
        resource_type: Option<&str>,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Namespace>, bool)> {
        use ferrostack_core::db::{Arg, Sql};
        let mut sql = Sql::new(NS_COLUMNS);
        sql.push(" WHERE 1 = 1");
        if !ctx.is_admin() {
            match ctx.project_id() {
                Some(p) => {
                    sql.push(" AND (visibility = 'public' OR owner = ")
                        .bind(Arg::Text(p.to_string()))
                        .push(")");
                }
                // Without a project, only public ones (an owner is never empty to it).
                None => {
                    sql.push(" AND visibility = 'public'");
                }
            }
        }
        sql.and_eq("visibility", visibility.map(|v| Arg::Text(v.into())));
        if let Some(rt) = resource_type {
            sql.push(
                " AND id IN (SELECT namespace_id FROM metadef_associations WHERE resource_type IN ",
            );
            sql.in_list(rt.split(','));
            sql.push(")");
        }
        if let Some(m) = marker {
            sql.push(" AND namespace > ").bind(Arg::Text(m.into()));
        }
        sql.push(" ORDER BY namespace LIMIT ")
            .bind(Arg::Int(limit as i64 + 1));
        let rows: Vec<Namespace> = sql.fetch_all::<NsRow, Namespace>(&self.db.pool).await?;
        Ok(ferrostack_core::list::page(rows, limit))
    }

    fn require_metadef_admin(ctx: &Ctx, what: &str) -> Result<()> {
        if ctx.is_admin() {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "Only admins may {what} metadata definitions (Glance's metadef_admin rule)."
            )))
        }
    }

    fn check_namespace_in(n: &NamespaceIn) -> Result<()> {
        check_name("namespace", &n.namespace)?;
        if let Some(d) = &n.display_name {
            check_text("display_name", d, NAME_MAX)?;
        }
        if let Some(d) = &n.description {
            check_text("description", d, DESCRIPTION_MAX)?;
        }
        if let Some(v) = &n.visibility {
            if v != "public" && v != "private" {
                return Err(Error::bad_request(format!(
                    "Invalid visibility value: {v}. Use public or private."
                )));
            }
        }
        if let Some(o) = &n.owner {
            check_name("owner", o)?;
        }
        Ok(())
    }

    pub async fn metadef_namespace_create(&self, ctx: &Ctx, n: NamespaceIn) -> Result<Namespace> {
        Self::require_metadef_admin(ctx, "create")?;
        Self::check_namespace_in(&n)?;
        // Every namespace has an owner project (a private one is that project's).
        let owner = n
            .owner
            .clone()
            .or_else(|| ctx.project_id().map(String::from))
            .ok_or_else(|| {
                Error::bad_request(
                    "Give the namespace an owner: this token is not scoped to a project.",
                )
            })?;
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM metadef_namespaces")
            .fetch_one(&mut *tx)
            .await?;
        if count >= NAMESPACES_MAX {
            return Err(Error::TooLarge(format!(
                "This cloud holds its most metadata definition namespaces ({NAMESPACES_MAX})."
            )));
        }
        sqlx::query(
            "INSERT INTO metadef_namespaces (id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(ids::new_id())
        .bind(&n.namespace)
        .bind(n.display_name.as_deref().unwrap_or_default())
        .bind(n.description.as_deref().unwrap_or_default())
        .bind(n.visibility.as_deref().unwrap_or("private"))
        .bind(i64::from(n.protected.unwrap_or(false)))
        .bind(&owner)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            unique_or(e, || {
                format!("Metadata definition namespace={} already exists.", n.namespace)
            })
        })?;
        tx.commit().await?;
        self.metadef_namespace(ctx, &n.namespace).await
    }

    /// Lock namespace `ns` (write first) inside `tx`; 404 when there is none, 403 when
    /// it is protected and `unprotected` is asked.
    async fn metadef_lock(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        ns: &str,
        unprotected: bool,
    ) -> Result<Namespace> {
        check_name("namespace", ns)?;
        let now = time::to_db(&time::now());
        let n = sqlx::query("UPDATE metadef_namespaces SET updated_at = $2 WHERE namespace = $1")
            .bind(ns)
            .bind(&now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::not_found("metadata definition namespace", ns));
        }
        let row: Namespace =
            sqlx::query_as::<_, NsRow>(&format!("{NS_COLUMNS} WHERE namespace = $1"))
                .bind(ns)
                .fetch_one(&mut **tx)
                .await?
                .into();
        if unprotected && row.protected {
            return Err(Error::forbidden(format!(
                "Metadata definition namespace {ns} is protected: set protected to false first."
            )));
        }
        Ok(row)
    }

    /// PUT /v2/metadefs/namespaces/{ns}: the given fields replace the stored ones (a
    /// new `namespace` renames it).
    pub async fn metadef_namespace_update(
        &self,
        ctx: &Ctx,
        ns: &str,
        n: NamespaceIn,
    ) -> Result<Namespace> {
        Self::require_metadef_admin(ctx, "change")?;
        Self::check_namespace_in(&n)?;
        let mut tx = self.db.pool.begin().await?;
        let cur = Self::metadef_lock(&mut tx, ns, false).await?;
        sqlx::query(
            "UPDATE metadef_namespaces SET namespace = $2, display_name = $3, description = $4, visibility = $5, protected = $6, owner = $7 WHERE id = $1",
        )
        .bind(&cur.id)
        .bind(&n.namespace)
        .bind(n.display_name.unwrap_or(cur.display_name))
        .bind(n.description.unwrap_or(cur.description))
        .bind(n.visibility.unwrap_or(cur.visibility))
        .bind(i64::from(n.protected.unwrap_or(cur.protected)))
        .bind(n.owner.unwrap_or(cur.owner))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            unique_or(e, || {
                format!("Metadata definition namespace={} already exists.", n.namespace)
            })
        })?;
        tx.commit().await?;
        self.metadef_namespace(ctx, &n.namespace).await
    }

    /// Delete a namespace with everything in it (403 while protected).
    pub async fn metadef_namespace_delete(&self, ctx: &Ctx, ns: &str) -> Result<()> {
        Self::require_metadef_admin(ctx, "delete")?;
        let mut tx = self.db.pool.begin().await?;
        let cur = Self::metadef_lock(&mut tx, ns, true).await?;
        for table in ["metadef_items", "metadef_associations"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE namespace_id = $1"))
                .bind(&cur.id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM metadef_namespaces WHERE id = $1")
            .bind(&cur.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A namespace's items of `kind`, by name.
    pub async fn metadef_items(&self, ctx: &Ctx, ns: &str, kind: ItemKind) -> Result<Vec<Item>> {
        let n = self.metadef_namespace(ctx, ns).await?;
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT name, body, created_at, updated_at FROM metadef_items WHERE namespace_id = $1 AND kind = $2 ORDER BY name",
        )
        .bind(&n.id)
        .bind(kind.db())
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, body, created_at, updated_at)| Item {
                name,
                body: serde_json::from_str(&body).unwrap_or_default(),
                created_at,
                updated_at,
            })
            .collect())
    }

    pub async fn metadef_item(
        &self,
        ctx: &Ctx,
        ns: &str,
        kind: ItemKind,
        name: &str,
    ) -> Result<Item> {
        check_name("name", name)?;
        self.metadef_items(ctx, ns, kind)
            .await?
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| Error::not_found(kind.what(), format!("{name} in namespace {ns}")))
    }

    /// Create (`replace` None), or update the item `replace` names (renaming it to
    /// `name`). 409 when another item of the kind already has `name`.
    pub async fn metadef_item_put(
        &self,
        ctx: &Ctx,
        ns: &str,
        kind: ItemKind,
        replace: Option<&str>,
        name: &str,
        body: Map<String, Value>,
    ) -> Result<Item> {
        Self::require_metadef_admin(ctx, "change")?;
        match kind {
            ItemKind::Property => check_property(name, &body)?,
            ItemKind::Object => check_object(name, &body)?,
            ItemKind::Tag => check_name("tag name", name)?,
        }
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        let n = Self::metadef_lock(&mut tx, ns, false).await?;
        let text = Value::Object(body).to_string();
        let conflict = || {
            format!(
                "A {} named {name} already exists in namespace {ns}.",
                kind.what()
            )
        };
        match replace {
            None => {
                let (count,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM metadef_items WHERE namespace_id = $1 AND kind = $2",
                )
                .bind(&n.id)
                .bind(kind.db())
                .fetch_one(&mut *tx)
                .await?;
                if count >= ITEMS_MAX {
                    return Err(Error::TooLarge(format!(
                        "Namespace {ns} holds its most {}s ({ITEMS_MAX}).",
                        kind.what()
                    )));
                }
                sqlx::query(
                    "INSERT INTO metadef_items (namespace_id, kind, name, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(&n.id)
                .bind(kind.db())
                .bind(name)
                .bind(&text)
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_or(e, conflict))?;
            }
            Some(old) => {
                check_name("name", old)?;
                let done = sqlx::query(
                    "UPDATE metadef_items SET name = $4, body = $5, updated_at = $6 WHERE namespace_id = $1 AND kind = $2 AND name = $3",
                )
                .bind(&n.id)
                .bind(kind.db())
                .bind(old)
                .bind(name)
                .bind(&text)
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_or(e, conflict))?
                .rows_affected();
                if done == 0 {
                    return Err(Error::not_found(
                        kind.what(),
                        format!("{old} in namespace {ns}"),
                    ));
                }
            }
        }
        tx.commit().await?;
        self.metadef_item(ctx, ns, kind, name).await
    }

    /// Delete one item (`name`) or every item of `kind` (None) of a namespace.
    pub async fn metadef_item_delete(
        &self,
        ctx: &Ctx,
        ns: &str,
        kind: ItemKind,
        name: Option<&str>,
    ) -> Result<()> {
        Self::require_metadef_admin(ctx, "delete")?;
        let mut tx = self.db.pool.begin().await?;
        let n = Self::metadef_lock(&mut tx, ns, name.is_none()).await?;
        let mut q = String::from("DELETE FROM metadef_items WHERE namespace_id = $1 AND kind = $2");
        if name.is_some() {
            q.push_str(" AND name = $3");
        }
        let mut query = sqlx::query(&q).bind(&n.id).bind(kind.db());
        if let Some(nm) = name {
            check_name("name", nm)?;
            query = query.bind(nm);
        }
        let gone = query.execute(&mut *tx).await?.rows_affected();
        if let (Some(nm), 0) = (name, gone) {
            return Err(Error::not_found(
                kind.what(),
                format!("{nm} in namespace {ns}"),
            ));
        }
        tx.commit().await?;
        Ok(())
    }

    /// POST /v2/metadefs/namespaces/{ns}/tags: create tags at once; they replace the
    /// namespace's tags unless `append`. All or nothing; duplicates in the list 409.
    pub async fn metadef_tags_create(
        &self,
        ctx: &Ctx,
        ns: &str,
        names: &[String],
        append: bool,
    ) -> Result<Vec<Item>> {
        Self::require_metadef_admin(ctx, "change")?;
        for t in names {
            check_name("tag name", t)?;
        }
        if names.len() as i64 > ITEMS_MAX {
            return Err(Error::TooLarge(format!(
                "At most {ITEMS_MAX} tags per namespace."
            )));
        }
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        let n = Self::metadef_lock(&mut tx, ns, false).await?;
        if !append {
            sqlx::query("DELETE FROM metadef_items WHERE namespace_id = $1 AND kind = 'tag'")
                .bind(&n.id)
                .execute(&mut *tx)
                .await?;
        }
        for t in names {
            sqlx::query(
                "INSERT INTO metadef_items (namespace_id, kind, name, body, created_at, updated_at) VALUES ($1, 'tag', $2, '{}', $3, $3)",
            )
            .bind(&n.id)
            .bind(t)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_or(e, || format!("A metadata tag named {t} already exists in namespace {ns}.")))?;
        }
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM metadef_items WHERE namespace_id = $1 AND kind = 'tag'",
        )
        .bind(&n.id)
        .fetch_one(&mut *tx)
        .await?;
        if count > ITEMS_MAX {
            return Err(Error::TooLarge(format!(
                "At most {ITEMS_MAX} tags per namespace."
            )));
        }
        tx.commit().await?;
        let all = self.metadef_items(ctx, ns, ItemKind::Tag).await?;
        Ok(all
            .into_iter()
            .filter(|i| names.contains(&i.name))
            .collect())
    }

    /// Every resource type (GET /v2/metadefs/resource_types).
    pub async fn metadef_resource_types(&self) -> Result<Vec<(String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT name, created_at, updated_at FROM metadef_resource_types ORDER BY name",
        )
        .fetch_all(&self.db.pool)
        .await?)
    }

    pub async fn metadef_associations(&self, ctx: &Ctx, ns: &str) -> Result<Vec<Association>> {
        let n = self.metadef_namespace(ctx, ns).await?;
        Ok(sqlx::query_as::<_, Association>(
            "SELECT resource_type AS name, prefix, properties_target, created_at, updated_at FROM metadef_associations WHERE namespace_id = $1 ORDER BY resource_type",
        )
        .bind(&n.id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// Associate a namespace with a resource type (made when it is new, as Glance).
    pub async fn metadef_associate(
        &self,
        ctx: &Ctx,
        ns: &str,
        a: Association,
    ) -> Result<Association> {
        Self::require_metadef_admin(ctx, "change")?;
        check_name("resource type name", &a.name)?;
        for (f, v) in [
            ("prefix", &a.prefix),
            ("properties_target", &a.properties_target),
        ] {
            if let Some(v) = v {
                check_text(f, v, NAME_MAX)?;
            }
        }
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        let n = Self::metadef_lock(&mut tx, ns, false).await?;
        // A new resource type is made (inside the transaction: no error may abort it).
        sqlx::query(
            "INSERT INTO metadef_resource_types (name, protected, created_at, updated_at) VALUES ($1, 0, $2, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&a.name)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO metadef_associations (namespace_id, resource_type, prefix, properties_target, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&n.id)
        .bind(&a.name)
        .bind(&a.prefix)
        .bind(&a.properties_target)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_or(e, || format!("Namespace {ns} is already associated with {}.", a.name)))?;
        tx.commit().await?;
        Ok(Association {
            created_at: now.clone(),
            updated_at: now,
            ..a
        })
    }

    pub async fn metadef_dissociate(&self, ctx: &Ctx, ns: &str, rt: &str) -> Result<()> {
        Self::require_metadef_admin(ctx, "change")?;
        check_name("resource type name", rt)?;
        let mut tx = self.db.pool.begin().await?;
        let n = Self::metadef_lock(&mut tx, ns, false).await?;
        let gone = sqlx::query(
            "DELETE FROM metadef_associations WHERE namespace_id = $1 AND resource_type = $2",
        )
        .bind(&n.id)
        .bind(rt)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if gone == 0 {
            return Err(Error::not_found(
                "resource type association",
                format!("{rt} of namespace {ns}"),
            ));
        }
        tx.commit().await?;
        Ok(())
    }
}
