//! What every network resource shares: the list query (Neutron's attribute filters,
//! tag filters, sort keys and marker paging through core's list layer), text checks,
//! and tags (standard-attr-tag).

use std::collections::{BTreeMap, HashMap};

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::list::{self, Sort, SortKey};
use ferrostack_core::{Action, Ctx, Error, Result};
use ferrostack_types::network::limits::{DESCRIPTION_MAX, NAME_MAX, TAGS_MAX, TAG_MAX};

use crate::Networking;

/// A listing's filters, sort and page, as the REST layer read them. A key given twice
/// matches either value (Neutron's `name=a&name=b`).
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub filters: Vec<(String, String)>,
    pub sort: Vec<(String, String)>,
    pub limit: Option<usize>,
    pub marker: Option<String>,
}

/// How a filterable attribute is compared.
#[derive(Clone, Copy)]
pub(crate) enum Col {
    Text(&'static str),
    /// A 0/1 column given as true/false.
    Bool(&'static str),
    Int(&'static str),
}

pub(crate) fn parse_bool(field: &str, v: &str) -> Result<bool> {
    match v {
        "true" | "True" | "TRUE" | "1" => Ok(true),
        "false" | "False" | "FALSE" | "0" => Ok(false),
        _ => Err(Error::bad_request(format!(
            "Invalid input for {field}. Reason: '{v}' cannot be converted to boolean."
        ))),
    }
}

impl ListQuery {
    /// Take the filters `f` names out of the query (the resource handles them itself).
    pub(crate) fn take(&mut self, f: &str) -> Vec<String> {
        let (hit, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.filters)
            .into_iter()
            .partition(|(k, _)| k == f);
        self.filters = rest;
        hit.into_iter().map(|(_, v)| v).collect()
    }

    /// `AND ...` for each filter: attributes from `cols`, tags on `id_expr`. Anything
    /// else is refused, as Neutron's filter validation does.
    pub(crate) fn apply(&self, sql: &mut Sql, cols: &[(&str, Col)], id_expr: &str) -> Result<()> {
        let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in &self.filters {
            by_key.entry(k.as_str()).or_default().push(v.as_str());
        }
        for (k, values) in by_key {
            let split = || -> Vec<String> {
                values
                    .iter()
                    .flat_map(|v| v.split(','))
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            let tagged = |sql: &mut Sql, tag: &str| {
                sql.push(&format!(
                    "{id_expr} IN (SELECT resource_id FROM net_tags WHERE tag = "
                ))
                .bind(Arg::Text(tag.to_string()));
                sql.push(")");
            };
            match k {
                "tags" | "not-tags" => {
                    let tags = split();
                    if tags.is_empty() {
                        continue;
                    }
                    sql.push(if k == "tags" { " AND (" } else { " AND NOT (" });
                    for (i, t) in tags.iter().enumerate() {
                        if i > 0 {
                            sql.push(" AND ");
                        }
                        tagged(sql, t);
                    }
                    sql.push(")");
                }
                "tags-any" | "not-tags-any" => {
                    let tags = split();
                    if tags.is_empty() {
                        continue;
                    }
                    sql.push(&format!(
                        " AND {id_expr} {}IN (SELECT resource_id FROM net_tags WHERE tag IN ",
                        if k == "tags-any" { "" } else { "NOT " }
                    ));
                    sql.in_list(tags.iter().map(String::as_str));
                    sql.push(")");
                }
                _ => {
                    let col = cols
                        .iter()
                        .find(|(n, _)| *n == k)
                        .map(|(_, c)| *c)
                        .ok_or_else(|| {
                            Error::bad_request(format!("[{k}] is invalid attribute for filtering"))
                        })?;
                    match col {
                        Col::Text(c) => {
                            sql.push(&format!(" AND {c} IN "));
                            sql.in_list(values.iter().copied());
                        }
                        Col::Bool(c) => {
                            sql.push(&format!(" AND {c} IN ("));
                            for (i, v) in values.iter().enumerate() {
                                if i > 0 {
                                    sql.push(", ");
                                }
                                sql.bind(Arg::Int(parse_bool(k, v)? as i64));
                            }
                            sql.push(")");
                        }
                        Col::Int(c) => {
                            sql.push(&format!(" AND {c} IN ("));
                            for (i, v) in values.iter().enumerate() {
                                if i > 0 {
                                    sql.push(", ");
                                }
                                let n = v.parse::<i64>().map_err(|_| {
                                    Error::bad_request(format!(
                                        "Invalid input for {k}. Reason: '{v}' is not an integer."
                                    ))
                                })?;
                                sql.bind(Arg::Int(n));
                            }
                            sql.push(")");
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Sort, the marker's position (from its row in `table`) and the page limit; the
    /// page size read.
    pub(crate) fn order(
        &self,
        sql: &mut Sql,
        keys: &[SortKey],
        table: &str,
        marker_ok: bool,
    ) -> Result<usize> {
        let sort = Sort::parse(&self.sort, keys, ("id", "asc"))?;
        if let Some(m) = &self.marker {
            if !marker_ok {
                return Err(Error::bad_request(format!(
                    "Invalid marker: {m} was not found."
                )));
            }
            sort.after_row(sql, table, m);
        }
        let limit = list::limit(self.limit.or(Some(list::MAX_LIMIT)));
        sort.order_and_limit(sql, limit);
        Ok(limit)
    }
}

/// A name or description: at most Neutron's length, no control characters.
pub(crate) fn check_text(field: &str, v: &str, max: usize) -> Result<()> {
    if v.chars().count() > max {
        return Err(Error::bad_request(format!(
            "Invalid input for {field}. Reason: '{}...' exceeds maximum length of {max}.",
            v.chars().take(20).collect::<String>()
        )));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(Error::bad_request(format!(
            "Invalid input for {field}. Reason: it holds control characters."
        )));
    }
    Ok(())
}

pub(crate) fn check_name(v: &str) -> Result<()> {
    check_text("name", v, NAME_MAX)
}

pub(crate) fn check_description(v: &str) -> Result<()> {
    check_text("description", v, DESCRIPTION_MAX)
}

pub(crate) fn check_tags(tags: &[String]) -> Result<()> {
    if tags.len() > TAGS_MAX {
        return Err(Error::bad_request(format!(
            "Invalid input for tags. Reason: at most {TAGS_MAX} tags."
        )));
    }
    for t in tags {
        if t.is_empty() || t.contains(',') || t.contains('/') {
            return Err(Error::bad_request(format!(
                "Invalid input for tags. Reason: '{t}' is empty or holds ',' or '/'."
            )));
        }
        check_text("tags", t, TAG_MAX)?;
    }
    Ok(())
}

/// The project a create is for: the caller's, or (admins) the one named.
pub(crate) fn owner_project(ctx: &Ctx, asked: Option<&str>, what: &str) -> Result<String> {
    let own = ctx.project_id().map(str::to_string);
    match (asked, own) {
        (Some(p), Some(o)) if p == o => Ok(o),
        (Some(p), _) if ctx.is_admin() => Ok(p.to_string()),
        (Some(_), _) => Err(Error::forbidden(format!(
            "Only an admin may create a {what} in another project."
        ))),
        (None, Some(o)) => {
            if ctx.can_write_project() {
                Ok(o)
            } else {
                Err(Error::forbidden(format!(
                    "Your role in this project is read-only: you may not create a {what}."
                )))
            }
        }
        (None, None) => Err(Error::forbidden(format!(
            "A {what} is created in a project: use a project-scoped token."
        ))),
    }
}

/// Take `network`'s row lock for the rest of the transaction (ports, subnets and
/// deletes on one network then happen one at a time); 404 if it is gone meanwhile.
pub(crate) async fn lock_network(conn: &mut sqlx::AnyConnection, network: &str) -> Result<()> {
    let n = sqlx::query("UPDATE net_networks SET revision_number = revision_number WHERE id = $1")
        .bind(network)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::not_found(crate::KIND_NETWORK, network));
    }
    Ok(())
}

/// The tags of each of `ids`.
pub(crate) async fn tags_of(
    db: &sqlx::AnyPool,
    ids: &[&str],
) -> Result<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new("SELECT resource_id, tag FROM net_tags WHERE resource_id IN ");
        sql.in_list(chunk.iter().copied());
        sql.push(" ORDER BY tag");
        let rows: Vec<(String, String)> = sql.query_as().fetch_all(db).await?;
        for (id, tag) in rows {
            out.entry(id).or_default().push(tag);
        }
    }
    Ok(out)
}

pub(crate) async fn write_tags(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    tags: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM net_tags WHERE resource_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let mut seen = std::collections::BTreeSet::new();
    for t in tags {
        if seen.insert(t) {
            sqlx::query("INSERT INTO net_tags (resource_id, tag) VALUES ($1, $2)")
                .bind(id)
                .bind(t)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// The resource types tags are set on through `/v2.0/{type}/{id}/tags`.
pub const TAGGED: &[&str] = &[
    "networks",
    "subnets",
    "ports",
    "security-groups",
    "routers",
    "floatingips",
];

impl Networking {
    /// Check that the caller may change `resource`'s tags (its type as the URL names
    /// it); its table for the revision bump.
    async fn tag_target(&self, ctx: &Ctx, resource: &str, id: &str) -> Result<&'static str> {
        match resource {
            "networks" => {
                let n = self.network_row(ctx, id).await?;
                ctx.authorize(Action::Write, &n.owned())?;
                Ok("net_networks")
            }
            "subnets" => {
                let s = self.subnet_row(ctx, id).await?;
                ctx.authorize(Action::Write, &s.owned())?;
                Ok("net_subnets")
            }
            "ports" => {
                let p = self.port_row(ctx, id).await?;
                ctx.authorize(Action::Write, &p.owned())?;
                Ok("net_ports")
            }
            "security-groups" => {
                let g = self.group_row(ctx, id).await?;
                ctx.authorize(Action::Write, &g.owned())?;
                Ok("net_security_groups")
            }
            "routers" => {
                let r = self.router_row(ctx, id).await?;
                ctx.authorize(Action::Write, &r.owned())?;
                Ok("net_routers")
            }
            "floatingips" => {
                let f = self.fip_row(ctx, id).await?;
                ctx.authorize(Action::Write, &f.owned())?;
                Ok("net_floating_ips")
            }
            other => Err(Error::not_found("resource type", other)),
        }
    }

    /// A resource's tags (read access is enough).
    pub async fn tags_get(&self, ctx: &Ctx, resource: &str, id: &str) -> Result<Vec<String>> {
        match resource {
            "networks" => self.network_row(ctx, id).await.map(|_| ())?,
            "subnets" => self.subnet_row(ctx, id).await.map(|_| ())?,
            "ports" => self.port_row(ctx, id).await.map(|_| ())?,
            "security-groups" => self.group_row(ctx, id).await.map(|_| ())?,
            "routers" => self.router_row(ctx, id).await.map(|_| ())?,
            "floatingips" => self.fip_row(ctx, id).await.map(|_| ())?,
            other => return Err(Error::not_found("resource type", other)),
        }
        Ok(tags_of(&self.db.pool, &[id])
            .await?
            .remove(id)
            .unwrap_or_default())
    }

    /// Replace, add (`Some(tag)` with `add`) or remove tags.
    pub async fn tags_change(
        &self,
        ctx: &Ctx,
        resource: &str,
        id: &str,
        change: TagChange,
    ) -> Result<Vec<String>> {
        let table = self.tag_target(ctx, resource, id).await?;
        let mut tags = tags_of(&self.db.pool, &[id])
            .await?
            .remove(id)
            .unwrap_or_default();
        match change {
            TagChange::Replace(t) => tags = t,
            TagChange::Add(t) => {
                if !tags.contains(&t) {
                    tags.push(t)
                }
            }
            TagChange::Remove(t) => {
                if !tags.contains(&t) {
                    return Err(Error::not_found("tag", t));
                }
                tags.retain(|x| *x != t)
            }
            TagChange::Clear => tags.clear(),
        }
        check_tags(&tags)?;
        let mut tx = self.db.pool.begin().await?;
        write_tags(&mut tx, id, &tags).await?;
        sqlx::query(&format!(
            "UPDATE {table} SET revision_number = revision_number + 1, updated_at = $2 WHERE id = $1"
        ))
        .bind(id)
        .bind(ferrostack_core::time::to_db(&ferrostack_core::time::now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tags.sort();
        Ok(tags)
    }
}

#[derive(Clone, Debug)]
pub enum TagChange {
    Replace(Vec<String>),
    Add(String),
    Remove(String),
    Clear,
}
