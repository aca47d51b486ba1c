//! Routers: create (quota-claimed), show, list, update, delete; the external gateway
//! (a port on an external network, holding the router's SNAT address) and interfaces
//! (a port on a tenant subnet holding its gateway address). Changes run under the
//! router's row lock, so two interfaces with overlapping subnets can never both be
//! added, and a floating IP never loses the interface it routes through. After each
//! change the router's namespace is brought in line (crate::l3).

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::events::NewEvent;
use ferrostack_core::list::{self, SortKey};
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::network::{ExternalGateway, FixedIp, Router, RouterInterface};

use crate::cidr::Cidr;
use crate::common::{
    check_description, check_name, check_tags, lock_network, owner_project, tags_of, write_tags,
    Col, ListQuery,
};
use crate::ports::FixedIpRequest;
use crate::{Networking, KIND_ROUTER};

pub const INTERFACE_OWNER: &str = "network:router_interface";
pub const GATEWAY_OWNER: &str = "network:router_gateway";

#[derive(Clone, Debug, Default)]
pub struct GatewayRequest {
    pub network_id: String,
    pub enable_snat: Option<bool>,
    /// Admins may choose the gateway's addresses.
    pub fixed_ips: Option<Vec<FixedIpRequest>>,
}

#[derive(Clone, Debug, Default)]
pub struct NewRouter {
    pub name: String,
    pub description: String,
    pub project_id: Option<String>,
    pub admin_state_up: Option<bool>,
    pub gateway: Option<GatewayRequest>,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct RouterUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    /// `Some(None)`: remove the gateway.
    pub gateway: Option<Option<GatewayRequest>>,
}

/// What add/remove_router_interface names.
#[derive(Clone, Debug)]
pub enum InterfaceRequest {
    Subnet(String),
    Port(String),
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub(crate) struct RouterRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub admin_state_up: i64,
    pub gateway_network_id: Option<String>,
    pub gateway_port_id: Option<String>,
    pub enable_snat: i64,
    pub revision_number: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) const COLUMNS: &str = "SELECT r.id, r.project_id, r.name, r.description, r.admin_state_up, \
     r.gateway_network_id, r.gateway_port_id, r.enable_snat, r.revision_number, r.created_at, r.updated_at FROM net_routers r";

impl RouterRow {
    pub(crate) fn owned(&self) -> Owned<'_> {
        Owned::of_project(KIND_ROUTER, &self.id, &self.project_id)
    }
}

const FILTERS: &[(&str, Col)] = &[
    ("id", Col::Text("r.id")),
    ("name", Col::Text("r.name")),
    ("description", Col::Text("r.description")),
    ("project_id", Col::Text("r.project_id")),
    ("tenant_id", Col::Text("r.project_id")),
    ("admin_state_up", Col::Bool("r.admin_state_up")),
    ("revision_number", Col::Int("r.revision_number")),
];

const SORT_KEYS: &[SortKey] = &[
    SortKey {
        name: "id",
        expr: "r.id",
    },
    SortKey {
        name: "name",
        expr: "r.name",
    },
    SortKey {
        name: "project_id",
        expr: "r.project_id",
    },
    SortKey {
        name: "created_at",
        expr: "r.created_at",
    },
    SortKey {
        name: "updated_at",
        expr: "r.updated_at",
    },
];

pub(crate) fn bad_router(why: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Bad router request: {why}"))
}

/// Take the router's row lock for the rest of the transaction; 404 if it is gone.
pub(crate) async fn lock_router(conn: &mut sqlx::AnyConnection, id: &str) -> Result<()> {
    let n = sqlx::query("UPDATE net_routers SET revision_number = revision_number WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::not_found(KIND_ROUTER, id));
    }
    Ok(())
}

impl Networking {
    pub(crate) async fn router_row(&self, ctx: &Ctx, id: &str) -> Result<RouterRow> {
        let row: Option<RouterRow> = sqlx::query_as(&format!("{COLUMNS} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        let row = row.ok_or_else(|| Error::not_found(KIND_ROUTER, id))?;
        ctx.authorize(Action::Read, &row.owned())?;
        Ok(row)
    }

    /// Why a router with this gateway network does not route (None: it does).
    pub(crate) async fn l3_note(&self, gateway_network: Option<&str>) -> Result<Option<String>> {
        if self.cfg.bridge_mappings.is_empty() {
            return Ok(Some(
                "No external network is wired on this cloud: [network] bridge_mappings names no host bridge, \
                 so routers and floating IPs are kept and validated, and route nothing."
                    .into(),
            ));
        }
        let Some(net) = gateway_network else {
            return Ok(None);
        };
        let physnet: Option<(String,)> =
            sqlx::query_as("SELECT backing FROM net_networks WHERE id = $1")
                .bind(net)
                .fetch_optional(&self.db.pool)
                .await?;
        let physnet = physnet.map(|p| p.0).unwrap_or_default();
        if self.cfg.bridge_mappings.contains_key(&physnet) {
            return Ok(None);
        }
        Ok(Some(format!(
            "External network {net} is carried by physical network '{physnet}', which [network] bridge_mappings \
             wires to no host bridge here: its gateway and floating IPs route nothing."
        )))
    }

    async fn routers_view(&self, rows: Vec<RouterRow>) -> Result<Vec<Router>> {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut tags = tags_of(&self.db.pool, &ids).await?;
        // One look-up per gateway network, not per router.
        let mut notes: std::collections::HashMap<String, Option<String>> = Default::default();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let interfaces: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT i.port_id, i.subnet_id, p.network_id, COALESCE(a.ip_address, '') FROM net_router_interfaces i \
                 JOIN net_ports p ON p.id = i.port_id \
                 LEFT JOIN net_ip_allocations a ON a.port_id = i.port_id AND a.subnet_id = i.subnet_id \
                 WHERE i.router_id = $1 ORDER BY p.created_at, i.port_id",
            )
            .bind(&r.id)
            .fetch_all(&self.db.pool)
            .await?;
            let gateway = match (&r.gateway_network_id, &r.gateway_port_id) {
                (Some(net), Some(port)) => {
                    let mut conn = self.db.pool.acquire().await?;
                    let ips = crate::port_ips::addresses_of(&mut conn, port).await?;
                    Some(ExternalGateway {
                        network_id: net.clone(),
                        enable_snat: r.enable_snat != 0,
                        external_fixed_ips: ips
                            .into_iter()
                            .map(|(subnet_id, ip_address, _)| FixedIp {
                                subnet_id,
                                ip_address,
                            })
                            .collect(),
                    })
                }
                _ => None,
            };
            let key = r.gateway_network_id.clone().unwrap_or_default();
            let note = match notes.get(&key) {
                Some(n) => n.clone(),
                None => {
                    let n = self.l3_note(r.gateway_network_id.as_deref()).await?;
                    notes.insert(key, n.clone());
                    n
                }
            };
            let status = if note.is_none() && r.admin_state_up != 0 {
                "ACTIVE"
            } else {
                "DOWN"
            };
            out.push(Router {
                tags: tags.remove(&r.id).unwrap_or_default(),
                status: status.into(),
                note,
                external_gateway_info: gateway,
                interfaces: interfaces
                    .into_iter()
                    .map(
                        |(port_id, subnet_id, network_id, ip_address)| RouterInterface {
                            port_id,
                            subnet_id,
                            network_id,
                            ip_address,
                        },
                    )
                    .collect(),
                id: r.id,
                project_id: r.project_id,
                name: r.name,
                description: r.description,
                admin_state_up: r.admin_state_up != 0,
                revision_number: r.revision_number,
                created_at: r.created_at,
                updated_at: r.updated_at,
            });
        }
        Ok(out)
    }

    pub async fn router_create(&self, ctx: &Ctx, new: NewRouter) -> Result<Router> {
        let project = owner_project(ctx, new.project_id.as_deref(), "router")?;
        check_name(&new.name)?;
        check_description(&new.description)?;
        check_tags(&new.tags)?;
        let limit = self.quota_for(&project, "router").await?;
        let id = ids::new_uuid();
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        quotas::claim(&mut tx, &project, "router", 1, limit).await?;
        sqlx::query(
            "INSERT INTO net_routers (id, project_id, name, description, admin_state_up, status, enable_snat, \
             revision_number, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'ACTIVE', 1, 1, $6, $6)",
        )
        .bind(&id)
        .bind(&project)
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.admin_state_up.unwrap_or(true) as i64)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        write_tags(&mut tx, &id, &new.tags).await?;
        if let Some(g) = &new.gateway {
            self.set_gateway(ctx, &mut tx, &id, None, Some(g)).await?;
        }
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&project), KIND_ROUTER, &id, "create").status("ACTIVE"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.l3_sync(&id).await;
        self.router_get(ctx, &id).await
    }

    /// Replace the router's gateway (`current`: the gateway port it has) with `want`,
    /// in the caller's transaction, which holds the router's row.
    async fn set_gateway(
        &self,
        ctx: &Ctx,
        conn: &mut sqlx::AnyConnection,
        router: &str,
        current: Option<(&str, &str)>,
        want: Option<&GatewayRequest>,
    ) -> Result<()> {
        if let (Some((net, _)), Some(w)) = (current, want) {
            if net == w.network_id && w.fixed_ips.is_none() {
                if w.enable_snat == Some(false) && !ctx.is_admin() {
                    return Err(Error::forbidden(
                        "Only an admin may turn a router's SNAT off (its subnets would reach the external network with their own addresses).",
                    ));
                }
                if let Some(snat) = w.enable_snat {
                    sqlx::query("UPDATE net_routers SET enable_snat = $2 WHERE id = $1")
                        .bind(router)
                        .bind(snat as i64)
                        .execute(&mut *conn)
                        .await?;
                }
                return Ok(());
            }
        }
        if let Some((net, port)) = current {
            let used: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM net_floating_ips WHERE router_id = $1")
                    .bind(router)
                    .fetch_one(&mut *conn)
                    .await?;
            if used > 0 {
                return Err(Error::coded(
                    409,
                    "RouterExternalGatewayInUseByFloatingIp",
                    format!("Gateway cannot be updated for router {router}, since a gateway to external network {net} is required by one or more floating IPs."),
                ));
            }
            crate::port_ips::drop_port(conn, port).await?;
            sqlx::query(
                "UPDATE net_routers SET gateway_network_id = NULL, gateway_port_id = NULL WHERE id = $1",
            )
            .bind(router)
            .execute(&mut *conn)
            .await?;
        }
        let Some(w) = want else { return Ok(()) };
        let net = self.network_row(ctx, &w.network_id).await?;
        if net.external == 0 {
            return Err(bad_router(format!(
                "Network {} is not an external network.",
                net.id
            )));
        }
        if w.fixed_ips.is_some() && !ctx.is_admin() {
            return Err(Error::forbidden(
                "Only an admin may choose a router gateway's external_fixed_ips.",
            ));
        }
        if w.enable_snat == Some(false) && !ctx.is_admin() {
            return Err(Error::forbidden(
                "Only an admin may turn a router's SNAT off (its subnets would reach the external network with their own addresses).",
            ));
        }
        // No interface may overlap the external network's subnets.
        let clash: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT i.subnet_id, si.cidr, se.id, se.cidr FROM net_router_interfaces i \
             JOIN net_subnets si ON si.id = i.subnet_id JOIN net_subnets se ON se.network_id = $2 WHERE i.router_id = $1",
        )
        .bind(router)
        .bind(&net.id)
        .fetch_all(&mut *conn)
        .await?;
        for (isub, icidr, esub, ecidr) in clash {
            let (a, b) = (Cidr::parse(&icidr), Cidr::parse(&ecidr));
            if let (Ok(a), Ok(b)) = (a, b) {
                if a.overlaps(&b) {
                    return Err(bad_router(format!(
                        "Cidr {icidr} of interface subnet {isub} overlaps with cidr {ecidr} of external subnet {esub}."
                    )));
                }
            }
        }
        lock_network(conn, &net.id).await?;
        let port = self
            .system_port(
                conn,
                &net.id,
                "",
                router,
                GATEWAY_OWNER,
                w.fixed_ips.as_deref(),
                false,
            )
            .await?;
        let ips = crate::port_ips::addresses_of(conn, &port).await?;
        if !ips.iter().any(|(_, _, v)| *v == 4) {
            return Err(bad_router(format!(
                "External network {} has no IPv4 subnet to give the router's gateway an address.",
                net.id
            )));
        }
        sqlx::query(
            "UPDATE net_routers SET gateway_network_id = $2, gateway_port_id = $3, enable_snat = $4 WHERE id = $1",
        )
        .bind(router)
        .bind(&net.id)
        .bind(&port)
        .bind(w.enable_snat.unwrap_or(true) as i64)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    pub async fn router_get(&self, ctx: &Ctx, id: &str) -> Result<Router> {
        let row = self.router_row(ctx, id).await?;
        Ok(self.routers_view(vec![row]).await?.remove(0))
    }

    pub async fn router_list(&self, ctx: &Ctx, q: ListQuery) -> Result<(Vec<Router>, bool)> {
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1");
        if !ctx.is_admin() {
            sql.push(" AND r.project_id = ")
                .bind(Arg::Text(ctx.project_id().unwrap_or("").to_string()));
        }
        q.apply(&mut sql, FILTERS, "r.id")?;
        let marker_ok = match &q.marker {
            Some(m) => self.router_row(ctx, m).await.is_ok(),
            None => true,
        };
        let limit = q.order(&mut sql, SORT_KEYS, "net_routers r", marker_ok)?;
        let rows: Vec<RouterRow> = sql.query_as().fetch_all(&self.db.pool).await?;
        let (page, more) = list::page(rows, limit);
        Ok((self.routers_view(page).await?, more))
    }

    pub async fn router_update(&self, ctx: &Ctx, id: &str, u: RouterUpdate) -> Result<Router> {
        let row = self.router_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        if let Some(n) = &u.name {
            check_name(n)?;
        }
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        let mut tx = self.db.pool.begin().await?;
        lock_router(&mut tx, id).await?;
        // Read again under the lock: the gateway may have changed meanwhile.
        let row: RouterRow = sqlx::query_as(&format!("{COLUMNS} WHERE r.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if let Some(g) = &u.gateway {
            let current = match (&row.gateway_network_id, &row.gateway_port_id) {
                (Some(n), Some(p)) => Some((n.as_str(), p.as_str())),
                _ => None,
            };
            self.set_gateway(ctx, &mut tx, id, current, g.as_ref())
                .await?;
        }
        sqlx::query(
            "UPDATE net_routers SET name = $2, description = $3, admin_state_up = $4, \
             revision_number = revision_number + 1, updated_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(u.name.as_ref().unwrap_or(&row.name))
        .bind(u.description.as_ref().unwrap_or(&row.description))
        .bind(
            u.admin_state_up
                .map(i64::from)
                .unwrap_or(row.admin_state_up),
        )
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_ROUTER, id, "update"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.l3_sync(id).await;
        self.router_get(ctx, id).await
    }

    /// Delete a router: refused while it has interfaces; its gateway goes with it.
    pub async fn router_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.router_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        let mut tx = self.db.pool.begin().await?;
        lock_router(&mut tx, id).await?;
        let interfaces: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM net_router_interfaces WHERE router_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if interfaces > 0 {
            return Err(Error::coded(
                409,
                "RouterInUse",
                format!("Router {id} still has ports: remove its {interfaces} interface(s) first."),
            ));
        }
        let gw: Option<(Option<String>,)> =
            sqlx::query_as("SELECT gateway_port_id FROM net_routers WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((Some(port),)) = gw {
            crate::port_ips::drop_port(&mut tx, &port).await?;
        }
        sqlx::query("DELETE FROM net_tags WHERE resource_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM net_routers WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        quotas::release(&mut tx, &row.project_id, "router", 1).await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_ROUTER, id, "delete")
                    .status("DELETED"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.l3_sync(id).await;
        Ok(())
    }
}
