//! Floating IPs: an address on an external network (held by a port the cloud owns),
//! associated with one fixed IPv4 address of a project's port and routed by the
//! router whose gateway is on that external network and which has an interface on the
//! fixed address's subnet. Quota-claimed; the association runs under that router's
//! row lock (so its interface cannot go meanwhile) and a unique key allows one
//! floating IP per fixed address.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::events::NewEvent;
use ferrostack_core::list::{self, SortKey};
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::network::FloatingIp;

use crate::common::{
    check_description, check_tags, lock_network, owner_project, tags_of, write_tags, Col, ListQuery,
};
use crate::ports::FixedIpRequest;
use crate::{Networking, KIND_FLOATING_IP};

pub const FLOATING_OWNER: &str = "network:floatingip";

#[derive(Clone, Debug, Default)]
pub struct NewFloatingIp {
    pub floating_network_id: String,
    pub project_id: Option<String>,
    /// Admins may choose the address.
    pub floating_ip_address: Option<String>,
    pub subnet_id: Option<String>,
    pub port_id: Option<String>,
    pub fixed_ip_address: Option<String>,
    pub description: String,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct FloatingIpUpdate {
    /// `Some(None)`: disassociate.
    pub port_id: Option<Option<String>>,
    pub fixed_ip_address: Option<String>,
    pub description: Option<String>,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub(crate) struct FipRow {
    pub id: String,
    pub project_id: String,
    pub floating_network_id: String,
    pub floating_port_id: String,
    pub floating_ip_address: String,
    pub port_id: Option<String>,
    pub fixed_ip_address: Option<String>,
    pub router_id: Option<String>,
    pub description: String,
    pub revision_number: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) const COLUMNS: &str = "SELECT f.id, f.project_id, f.floating_network_id, f.floating_port_id, \
     f.floating_ip_address, f.port_id, f.fixed_ip_address, f.router_id, f.description, f.revision_number, \
     f.created_at, f.updated_at FROM net_floating_ips f";

impl FipRow {
    pub(crate) fn owned(&self) -> Owned<'_> {
        Owned::of_project(KIND_FLOATING_IP, &self.id, &self.project_id)
    }
}

const FILTERS: &[(&str, Col)] = &[
    ("id", Col::Text("f.id")),
    ("description", Col::Text("f.description")),
    ("project_id", Col::Text("f.project_id")),
    ("tenant_id", Col::Text("f.project_id")),
    ("floating_network_id", Col::Text("f.floating_network_id")),
    ("floating_ip_address", Col::Text("f.floating_ip_address")),
    ("port_id", Col::Text("f.port_id")),
    ("fixed_ip_address", Col::Text("f.fixed_ip_address")),
    ("router_id", Col::Text("f.router_id")),
    ("revision_number", Col::Int("f.revision_number")),
];

const SORT_KEYS: &[SortKey] = &[
    SortKey {
        name: "id",
        expr: "f.id",
    },
    SortKey {
        name: "floating_ip_address",
        expr: "f.floating_ip_address",
    },
    SortKey {
        name: "project_id",
        expr: "f.project_id",
    },
    SortKey {
        name: "created_at",
        expr: "f.created_at",
    },
];

fn bad_fip(why: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Bad floatingip request: {why}"))
}

/// Take the floating IP's row for the rest of the transaction (a write first, so the
/// transaction holds the lock before it reads); 404 if it is gone.
async fn lock_fip(conn: &mut sqlx::AnyConnection, id: &str) -> Result<()> {
    let n =
        sqlx::query("UPDATE net_floating_ips SET revision_number = revision_number WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if n == 0 {
        return Err(Error::not_found(KIND_FLOATING_IP, id));
    }
    Ok(())
}

/// Floating IPs of a port being deleted become unassociated; the routers to bring in
/// line afterwards.
pub(crate) async fn disassociate_port(
    conn: &mut sqlx::AnyConnection,
    port: &str,
) -> Result<Vec<String>> {
    let routers: Vec<(Option<String>,)> =
        sqlx::query_as("SELECT router_id FROM net_floating_ips WHERE port_id = $1")
            .bind(port)
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query(
        "UPDATE net_floating_ips SET port_id = NULL, fixed_ip_address = NULL, router_id = NULL, status = 'DOWN', \
         revision_number = revision_number + 1 WHERE port_id = $1",
    )
    .bind(port)
    .execute(&mut *conn)
    .await?;
    Ok(routers.into_iter().filter_map(|r| r.0).collect())
}

impl Networking {
    pub(crate) async fn fip_row(&self, ctx: &Ctx, id: &str) -> Result<FipRow> {
        let row: Option<FipRow> = sqlx::query_as(&format!("{COLUMNS} WHERE f.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        let row = row.ok_or_else(|| Error::not_found(KIND_FLOATING_IP, id))?;
        ctx.authorize(Action::Read, &row.owned())?;
        Ok(row)
    }

    async fn fips_view(&self, rows: Vec<FipRow>) -> Result<Vec<FloatingIp>> {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut tags = tags_of(&self.db.pool, &ids).await?;
        let mut notes: std::collections::HashMap<String, Option<String>> = Default::default();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            // One look-up per external network, not per floating IP.
            let note = match notes.get(&r.floating_network_id) {
                Some(n) => n.clone(),
                None => {
                    let n = self.l3_note(Some(&r.floating_network_id)).await?;
                    notes.insert(r.floating_network_id.clone(), n.clone());
                    n
                }
            };
            let status = if note.is_none() && r.port_id.is_some() {
                "ACTIVE"
            } else {
                "DOWN"
            };
            out.push(FloatingIp {
                tags: tags.remove(&r.id).unwrap_or_default(),
                status: status.into(),
                note,
                id: r.id,
                project_id: r.project_id,
                floating_network_id: r.floating_network_id,
                floating_ip_address: r.floating_ip_address,
                port_id: r.port_id,
                fixed_ip_address: r.fixed_ip_address,
                router_id: r.router_id,
                description: r.description,
                revision_number: r.revision_number,
                created_at: r.created_at,
                updated_at: r.updated_at,
            });
        }
        Ok(out)
    }

    /// Where a floating IP on `network` for `project` would go: the port (which the
    /// caller may change), its fixed IPv4 address, and the router that reaches it.
    async fn fip_target(
        &self,
        ctx: &Ctx,
        project: &str,
        network: &str,
        port_id: &str,
        fixed: Option<&str>,
    ) -> Result<(String, String, String, String)> {
        let port = self.port_row(ctx, port_id).await?;
        ctx.authorize(Action::Write, &port.owned())?;
        if port.project_id != project && !ctx.is_admin() {
            return Err(Error::not_found(crate::KIND_PORT, port_id));
        }
        let mut conn = self.db.pool.acquire().await?;
        let ips = crate::port_ips::addresses_of(&mut conn, port_id).await?;
        let v4: Vec<_> = ips.into_iter().filter(|a| a.2 == 4).collect();
        let (subnet, ip) = match fixed {
            Some(f) => {
                let want = crate::cidr::parse_ip(f)
                    .ok_or_else(|| bad_fip(format!("'{f}' is not a valid IP address.")))?;
                v4.iter()
                    .find(|a| crate::cidr::parse_ip(&a.1) == Some(want))
                    .map(|a| (a.0.clone(), a.1.clone()))
                    .ok_or_else(|| bad_fip(format!("Port {port_id} does not have fixed ip {f}.")))?
            }
            None => v4
                .first()
                .map(|a| (a.0.clone(), a.1.clone()))
                .ok_or_else(|| {
                    bad_fip(format!("Port {port_id} does not have any IPv4 address."))
                })?,
        };
        let router: Option<(String,)> = sqlx::query_as(
            "SELECT r.id FROM net_routers r JOIN net_router_interfaces i ON i.router_id = r.id \
             WHERE r.gateway_network_id = $1 AND i.subnet_id = $2 ORDER BY r.created_at, r.id LIMIT 1",
        )
        .bind(network)
        .bind(&subnet)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((router,)) = router else {
            return Err(Error::coded(
                404,
                "ExternalGatewayForFloatingIPNotFound",
                format!("External network {network} is not reachable from subnet {subnet}. Therefore, cannot associate Port {port_id} with a Floating IP."),
            ));
        };
        Ok((port.id, ip, router, subnet))
    }

    /// Record the association in the caller's transaction, under the router's lock,
    /// after checking that the router still reaches the subnet.
    async fn associate(
        &self,
        conn: &mut sqlx::AnyConnection,
        fip: &str,
        fip_address: &str,
        network: &str,
        (port, ip, router, subnet): &(String, String, String, String),
    ) -> Result<()> {
        crate::routers::lock_router(conn, router).await?;
        let still: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM net_routers r JOIN net_router_interfaces i ON i.router_id = r.id \
             WHERE r.id = $1 AND r.gateway_network_id = $2 AND i.subnet_id = $3",
        )
        .bind(router)
        .bind(network)
        .bind(subnet)
        .fetch_one(&mut *conn)
        .await?;
        if still == 0 {
            return Err(Error::coded(
                404,
                "ExternalGatewayForFloatingIPNotFound",
                format!("External network {network} is not reachable from subnet {subnet} any more (the router changed meanwhile)."),
            ));
        }
        sqlx::query(
            "UPDATE net_floating_ips SET port_id = $2, fixed_ip_address = $3, router_id = $4, status = 'ACTIVE' WHERE id = $1",
        )
        .bind(fip)
        .bind(port)
        .bind(ip)
        .bind(router)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            ferrostack_core::error::unique_or(e, || {
                format!("Cannot associate floating IP {fip_address} ({fip}) with port {port} using fixed IP {ip}, as that fixed IP already has a floating IP on external network {network}.")
            })
        })
        .map_err(|e| match e {
            Error::Conflict(message) => {
                Error::coded(409, "FloatingIPPortAlreadyAssociated", message)
            }
            e => e,
        })?;
        Ok(())
    }

    pub async fn floating_ip_create(&self, ctx: &Ctx, new: NewFloatingIp) -> Result<FloatingIp> {
        let project = owner_project(ctx, new.project_id.as_deref(), "floating IP")?;
        check_description(&new.description)?;
        check_tags(&new.tags)?;
        let net = self.network_row(ctx, &new.floating_network_id).await?;
        if net.external == 0 {
            return Err(bad_fip(format!(
                "Network {} is not a valid external network.",
                net.id
            )));
        }
        if new.floating_ip_address.is_some() && !ctx.is_admin() {
            return Err(Error::forbidden(
                "Only an admin may choose a floating IP's address.",
            ));
        }
        let target = match &new.port_id {
            Some(p) => Some(
                self.fip_target(ctx, &project, &net.id, p, new.fixed_ip_address.as_deref())
                    .await?,
            ),
            None if new.fixed_ip_address.is_some() => {
                return Err(bad_fip("fixed_ip_address is given without a port_id."))
            }
            None => None,
        };
        let asked = match (&new.floating_ip_address, &new.subnet_id) {
            (None, None) => None,
            (ip, subnet) => Some(vec![FixedIpRequest {
                subnet_id: subnet.clone(),
                ip_address: ip.clone(),
            }]),
        };
        let limit = self.quota_for(&project, "floatingip").await?;
        let id = ids::new_uuid();
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        quotas::claim(&mut tx, &project, "floatingip", 1, limit).await?;
        // Locks in the order a gateway change takes them: the router, then the
        // external network.
        if let Some((_, _, router, _)) = &target {
            crate::routers::lock_router(&mut tx, router).await?;
        }
        lock_network(&mut tx, &net.id).await?;
        let port = self
            .system_port(
                &mut tx,
                &net.id,
                "",
                &id,
                FLOATING_OWNER,
                asked.as_deref(),
                false,
            )
            .await?;
        let address = crate::port_ips::addresses_of(&mut tx, &port)
            .await?
            .into_iter()
            .find(|a| a.2 == 4)
            .map(|a| a.1)
            .ok_or_else(|| {
                bad_fip(format!(
                    "External network {} has no IPv4 subnet to take a floating IP from.",
                    net.id
                ))
            })?;
        sqlx::query(
            "INSERT INTO net_floating_ips (id, project_id, floating_network_id, floating_port_id, floating_ip_address, \
             description, status, revision_number, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'DOWN', 1, $7, $7)",
        )
        .bind(&id)
        .bind(&project)
        .bind(&net.id)
        .bind(&port)
        .bind(&address)
        .bind(&new.description)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        if let Some(t) = &target {
            self.associate(&mut tx, &id, &address, &net.id, t).await?;
        }
        write_tags(&mut tx, &id, &new.tags).await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&project), KIND_FLOATING_IP, &id, "create"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        if let Some((_, _, router, _)) = &target {
            self.l3_sync(router).await;
        }
        self.floating_ip_get(ctx, &id).await
    }

    pub async fn floating_ip_get(&self, ctx: &Ctx, id: &str) -> Result<FloatingIp> {
        let row = self.fip_row(ctx, id).await?;
        Ok(self.fips_view(vec![row]).await?.remove(0))
    }

    pub async fn floating_ip_list(
        &self,
        ctx: &Ctx,
        q: ListQuery,
    ) -> Result<(Vec<FloatingIp>, bool)> {
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1");
        if !ctx.is_admin() {
            sql.push(" AND f.project_id = ")
                .bind(Arg::Text(ctx.project_id().unwrap_or("").to_string()));
        }
        q.apply(&mut sql, FILTERS, "f.id")?;
        let marker_ok = match &q.marker {
            Some(m) => self.fip_row(ctx, m).await.is_ok(),
            None => true,
        };
        let limit = q.order(&mut sql, SORT_KEYS, "net_floating_ips f", marker_ok)?;
        let rows: Vec<FipRow> = sql.query_as().fetch_all(&self.db.pool).await?;
        let (page, more) = list::page(rows, limit);
        Ok((self.fips_view(page).await?, more))
    }

    /// Associate (port_id), move, or disassociate (port_id null); the description.
    pub async fn floating_ip_update(
        &self,
        ctx: &Ctx,
        id: &str,
        u: FloatingIpUpdate,
    ) -> Result<FloatingIp> {
        let row = self.fip_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        let target = match &u.port_id {
            Some(Some(p)) => Some(
                self.fip_target(
                    ctx,
                    &row.project_id,
                    &row.floating_network_id,
                    p,
                    u.fixed_ip_address.as_deref(),
                )
                .await?,
            ),
            _ if u.fixed_ip_address.is_some() => {
                return Err(bad_fip("fixed_ip_address is given without a port_id."))
            }
            _ => None,
        };
        let mut tx = self.db.pool.begin().await?;
        lock_fip(&mut tx, id).await?;
        let before: Option<(Option<String>,)> =
            sqlx::query_as("SELECT router_id FROM net_floating_ips WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((before,)) = before else {
            return Err(Error::not_found(KIND_FLOATING_IP, id));
        };
        if u.port_id.is_some() {
            sqlx::query(
                "UPDATE net_floating_ips SET port_id = NULL, fixed_ip_address = NULL, router_id = NULL, status = 'DOWN' WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(t) = &target {
            self.associate(
                &mut tx,
                id,
                &row.floating_ip_address,
                &row.floating_network_id,
                t,
            )
            .await?;
        }
        sqlx::query(
            "UPDATE net_floating_ips SET description = $2, revision_number = revision_number + 1, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(u.description.as_ref().unwrap_or(&row.description))
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?;
        let action = match &u.port_id {
            Some(Some(_)) => "associate",
            Some(None) => "disassociate",
            None => "update",
        };
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_FLOATING_IP, id, action),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        let mut routers: Vec<String> = before.into_iter().collect();
        if let Some((_, _, r, _)) = &target {
            if !routers.contains(r) {
                routers.push(r.clone());
            }
        }
        for r in routers {
            self.l3_sync(&r).await;
        }
        self.floating_ip_get(ctx, id).await
    }

    pub async fn floating_ip_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.fip_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        let mut tx = self.db.pool.begin().await?;
        lock_fip(&mut tx, id).await?;
        let router: Option<(Option<String>,)> =
            sqlx::query_as("SELECT router_id FROM net_floating_ips WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((router,)) = router else {
            return Err(Error::not_found(KIND_FLOATING_IP, id));
        };
        sqlx::query("DELETE FROM net_floating_ips WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM net_tags WHERE resource_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::port_ips::drop_port(&mut tx, &row.floating_port_id).await?;
        quotas::release(&mut tx, &row.project_id, "floatingip", 1).await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_FLOATING_IP, id, "delete")
                    .status("DELETED"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        if let Some(r) = router {
            self.l3_sync(&r).await;
        }
        Ok(())
    }
}
