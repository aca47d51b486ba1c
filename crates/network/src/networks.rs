//! Networks: create (quota-claimed), show, list, update, delete. `shared` and
//! `router:external` are admins' to set; everyone sees shared and external networks.
//! A network with ports in use cannot be deleted (409 NetworkInUse); its subnets go
//! with it.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::events::NewEvent;
use ferrostack_core::list::{self, SortKey};
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::network::limits::{MTU_MAX, MTU_MIN};
use ferrostack_types::network::Network;

use crate::common::{
    check_description, check_name, check_tags, owner_project, tags_of, write_tags, Col, ListQuery,
};
use crate::{Networking, KIND_NETWORK};

#[derive(Clone, Debug, Default)]
pub struct NewNetwork {
    pub name: String,
    pub description: String,
    /// Admins may create for another project.
    pub project_id: Option<String>,
    pub admin_state_up: Option<bool>,
    pub shared: bool,
    pub external: bool,
    pub mtu: Option<i64>,
    pub port_security_enabled: Option<bool>,
    /// `provider:physical_network` of an external network: which of the operator's
    /// bridge mappings carries it (the only one, when not given).
    pub physical_network: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct NetworkUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: Option<bool>,
    pub shared: Option<bool>,
    pub external: Option<bool>,
    pub mtu: Option<i64>,
    pub port_security_enabled: Option<bool>,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub(crate) struct NetworkRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub admin_state_up: i64,
    pub shared: i64,
    pub external: i64,
    pub mtu: i64,
    pub port_security_enabled: i64,
    pub status: String,
    /// An external network's physical network ('' otherwise).
    pub backing: String,
    pub revision_number: i64,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "SELECT n.id, n.project_id, n.name, n.description, n.admin_state_up, n.shared, n.external, \
     n.mtu, n.port_security_enabled, n.status, n.backing, n.revision_number, n.created_at, n.updated_at FROM net_networks n";

impl NetworkRow {
    pub(crate) fn owned(&self) -> Owned<'_> {
        Owned::of_project(KIND_NETWORK, &self.id, &self.project_id)
            .visible(self.shared != 0 || self.external != 0)
    }
}

const FILTERS: &[(&str, Col)] = &[
    ("id", Col::Text("n.id")),
    ("name", Col::Text("n.name")),
    ("description", Col::Text("n.description")),
    ("project_id", Col::Text("n.project_id")),
    ("tenant_id", Col::Text("n.project_id")),
    ("status", Col::Text("n.status")),
    ("admin_state_up", Col::Bool("n.admin_state_up")),
    ("shared", Col::Bool("n.shared")),
    ("router:external", Col::Bool("n.external")),
    (
        "port_security_enabled",
        Col::Bool("n.port_security_enabled"),
    ),
    ("mtu", Col::Int("n.mtu")),
    ("revision_number", Col::Int("n.revision_number")),
];

const SORT_KEYS: &[SortKey] = &[
    SortKey {
        name: "id",
        expr: "n.id",
    },
    SortKey {
        name: "name",
        expr: "n.name",
    },
    SortKey {
        name: "status",
        expr: "n.status",
    },
    SortKey {
        name: "project_id",
        expr: "n.project_id",
    },
    SortKey {
        name: "tenant_id",
        expr: "n.project_id",
    },
    SortKey {
        name: "mtu",
        expr: "n.mtu",
    },
    SortKey {
        name: "admin_state_up",
        expr: "n.admin_state_up",
    },
    SortKey {
        name: "shared",
        expr: "n.shared",
    },
    SortKey {
        name: "created_at",
        expr: "n.created_at",
    },
    SortKey {
        name: "updated_at",
        expr: "n.updated_at",
    },
];

impl Networking {
    /// The physical network an external network is carried by: the one asked for
    /// (which must be mapped, when the operator mapped any), else the only mapping's.
    fn physical_network(&self, external: bool, asked: Option<&str>) -> Result<String> {
        let maps = &self.cfg.bridge_mappings;
        match (external, asked) {
            (false, None) => Ok(String::new()),
            (false, Some(_)) => Err(Error::bad_request(
                "Invalid input for provider:physical_network. Reason: only router:external networks are carried by a physical network here (tenant networks are local).",
            )),
            (true, Some(p)) => {
                crate::common::check_text("provider:physical_network", p, 64)?;
                if !maps.is_empty() && !maps.contains_key(p) {
                    return Err(Error::bad_request(format!(
                        "Invalid input for operation: physical_network '{p}' unknown for flat provider network (this cloud maps: {}).",
                        maps.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
                Ok(p.to_string())
            }
            (true, None) => Ok(maps.keys().next().cloned().unwrap_or_default()),
        }
    }
}

fn check_mtu(mtu: i64) -> Result<()> {
    if !(MTU_MIN..=MTU_MAX).contains(&mtu) {
        return Err(Error::bad_request(format!(
            "Invalid input for mtu. Reason: '{mtu}' is not in range {MTU_MIN} through {MTU_MAX}."
        )));
    }
    Ok(())
}

impl Networking {
    pub(crate) async fn network_row(&self, ctx: &Ctx, id: &str) -> Result<NetworkRow> {
        let row: Option<NetworkRow> = sqlx::query_as(&format!("{COLUMNS} WHERE n.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        let row = row.ok_or_else(|| Error::not_found(KIND_NETWORK, id))?;
        ctx.authorize(Action::Read, &row.owned())?;
        Ok(row)
    }

    async fn networks_view(&self, rows: Vec<NetworkRow>) -> Result<Vec<Network>> {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut tags = tags_of(&self.db.pool, &ids).await?;
        let mut subnets: std::collections::HashMap<String, Vec<String>> = Default::default();
        for chunk in ids.chunks(500) {
            let mut sql = Sql::new("SELECT network_id, id FROM net_subnets WHERE network_id IN ");
            sql.in_list(chunk.iter().copied());
            sql.push(" ORDER BY created_at, id");
            let found: Vec<(String, String)> = sql.query_as().fetch_all(&self.db.pool).await?;
            for (n, s) in found {
                subnets.entry(n).or_default().push(s);
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| Network {
                subnets: subnets.remove(&r.id).unwrap_or_default(),
                tags: tags.remove(&r.id).unwrap_or_default(),
                id: r.id,
                project_id: r.project_id,
                name: r.name,
                description: r.description,
                admin_state_up: r.admin_state_up != 0,
                shared: r.shared != 0,
                external: r.external != 0,
                mtu: r.mtu,
                port_security_enabled: r.port_security_enabled != 0,
                status: r.status,
                physical_network: (r.external != 0).then_some(r.backing),
                revision_number: r.revision_number,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect())
    }

    pub async fn network_create(&self, ctx: &Ctx, new: NewNetwork) -> Result<Network> {
        let project = owner_project(ctx, new.project_id.as_deref(), "network")?;
        check_name(&new.name)?;
        check_description(&new.description)?;
        check_tags(&new.tags)?;
        if (new.shared || new.external) && !ctx.is_admin() {
            return Err(Error::forbidden(format!(
                "Only an admin may create a {} network.",
                if new.shared {
                    "shared"
                } else {
                    "router:external"
                }
            )));
        }
        let mtu = new.mtu.unwrap_or(self.cfg.default_mtu);
        check_mtu(mtu)?;
        let physnet = self.physical_network(new.external, new.physical_network.as_deref())?;
        let limit = self.quota_for(&project, "network").await?;
        let id = ids::new_uuid();
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        quotas::claim(&mut tx, &project, "network", 1, limit).await?;
        sqlx::query(
            "INSERT INTO net_networks (id, project_id, name, description, admin_state_up, shared, external, mtu, \
             port_security_enabled, status, backing, revision_number, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'ACTIVE', $11, 1, $10, $10)",
        )
        .bind(&id)
        .bind(&project)
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.admin_state_up.unwrap_or(true) as i64)
        .bind(new.shared as i64)
        .bind(new.external as i64)
        .bind(mtu)
        .bind(new.port_security_enabled.unwrap_or(true) as i64)
        .bind(&now)
        .bind(&physnet)
        .execute(&mut *tx)
        .await?;
        write_tags(&mut tx, &id, &new.tags).await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&project), KIND_NETWORK, &id, "create")
                    .status("ACTIVE")
                    .public(new.shared || new.external),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.network_get(ctx, &id).await
    }

    pub async fn network_get(&self, ctx: &Ctx, id: &str) -> Result<Network> {
        let row = self.network_row(ctx, id).await?;
        Ok(self.networks_view(vec![row]).await?.remove(0))
    }

    /// The networks the caller may see that match `q`, one page; whether more follow.
    pub async fn network_list(&self, ctx: &Ctx, q: ListQuery) -> Result<(Vec<Network>, bool)> {
        let mut sql = Sql::new(COLUMNS);
        sql.push(" WHERE 1 = 1");
        if !ctx.is_admin() {
            sql.push(" AND (n.project_id = ")
                .bind(Arg::Text(ctx.project_id().unwrap_or("").to_string()));
            sql.push(" OR n.shared = 1 OR n.external = 1)");
        }
        q.apply(&mut sql, FILTERS, "n.id")?;
        let marker_ok = match &q.marker {
            Some(m) => self.network_row(ctx, m).await.is_ok(),
            None => true,
        };
        let limit = q.order(&mut sql, SORT_KEYS, "net_networks n", marker_ok)?;
        let rows: Vec<NetworkRow> = sql.query_as().fetch_all(&self.db.pool).await?;
        let (page, more) = list::page(rows, limit);
        Ok((self.networks_view(page).await?, more))
    }

    pub async fn network_update(&self, ctx: &Ctx, id: &str, u: NetworkUpdate) -> Result<Network> {
        let row = self.network_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        if u.shared.is_some_and(|s| s != (row.shared != 0))
            || u.external.is_some_and(|s| s != (row.external != 0))
        {
            ctx.authorize(Action::Admin, &row.owned())?;
        }
        if let Some(n) = &u.name {
            check_name(n)?;
        }
        if let Some(d) = &u.description {
            check_description(d)?;
        }
        if let Some(m) = u.mtu {
            check_mtu(m)?;
        }
        if u.shared == Some(false) && row.shared != 0 {
            // Neutron refuses to unshare a network other projects have ports on.
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM net_ports WHERE network_id = $1 AND project_id <> $2",
            )
            .bind(id)
            .bind(&row.project_id)
            .fetch_one(&self.db.pool)
            .await?;
            if others > 0 {
                return Err(Error::coded(
                    409,
                    "InvalidSharedSetting",
                    format!("Unable to reconfigure sharing settings for network {id}. Multiple tenants are using it."),
                ));
            }
        }
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE net_networks SET name = $2, description = $3, admin_state_up = $4, shared = $5, external = $6, \
             mtu = $7, port_security_enabled = $8, revision_number = revision_number + 1, updated_at = $9 WHERE id = $1",
        )
        .bind(id)
        .bind(u.name.as_ref().unwrap_or(&row.name))
        .bind(u.description.as_ref().unwrap_or(&row.description))
        .bind(u.admin_state_up.map(i64::from).unwrap_or(row.admin_state_up))
        .bind(u.shared.map(i64::from).unwrap_or(row.shared))
        .bind(u.external.map(i64::from).unwrap_or(row.external))
        .bind(u.mtu.unwrap_or(row.mtu))
        .bind(u.port_security_enabled.map(i64::from).unwrap_or(row.port_security_enabled))
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_NETWORK, id, "update")
                    .status(&row.status),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.network_get(ctx, id).await
    }

    /// Delete a network and its subnets; refused while ports other than the network's
    /// own (DHCP) use it.
    pub async fn network_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.network_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        let mut tx = self.db.pool.begin().await?;
        // Lock the network (no port is created on it meanwhile: ports lock it too).
        sqlx::query("UPDATE net_networks SET revision_number = revision_number + 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let ports: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM net_ports WHERE network_id = $1 AND device_owner <> 'network:dhcp'",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if ports > 0 {
            return Err(Error::coded(
                409,
                "NetworkInUse",
                format!("Unable to complete operation on network {id}. There are one or more ports still in use on the network."),
            ));
        }
        // The network's own (DHCP) ports, and the hosts it is realised on.
        sqlx::query(
            "DELETE FROM net_ip_allocations WHERE port_id IN (SELECT id FROM net_ports WHERE network_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM net_ports WHERE network_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let backings: Vec<(String, String)> =
            sqlx::query_as("SELECT host_uri, libvirt_name FROM net_backings WHERE network_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM net_backings WHERE network_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let subnets: Vec<(String, String)> =
            sqlx::query_as("SELECT id, project_id FROM net_subnets WHERE network_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        for (s, p) in &subnets {
            sqlx::query("DELETE FROM net_tags WHERE resource_id = $1")
                .bind(s)
                .execute(&mut *tx)
                .await?;
            quotas::release(&mut tx, p, "subnet", 1).await?;
        }
        sqlx::query("DELETE FROM net_subnets WHERE network_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM net_tags WHERE resource_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM net_networks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        quotas::release(&mut tx, &row.project_id, "network", 1).await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(ctx, Some(&row.project_id), KIND_NETWORK, id, "delete")
                    .status("DELETED"),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.unrealize(id, backings).await;
        Ok(())
    }
}
