//! Security group rules: direction, ethertype, protocol with port range (or ICMP type
//! and code), and a remote IP prefix or remote group. Checked as Neutron checks them;
//! an identical rule in the group is a 409 naming the existing one.

use ferrostack_core::db::{Arg, Sql};
use ferrostack_core::events::NewEvent;
use ferrostack_core::list::{self, SortKey};
use ferrostack_core::{ids, quotas, time, Action, Ctx, Error, Owned, Result};
use ferrostack_types::network::SecurityGroupRule;

use crate::cidr::Cidr;
use crate::common::{check_description, Col, ListQuery};
use crate::{Networking, KIND_SECURITY_GROUP, KIND_SECURITY_GROUP_RULE};

#[derive(Clone, Debug, Default)]
pub struct NewRule {
    pub security_group_id: String,
    pub direction: String,
    pub ethertype: Option<String>,
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    pub description: String,
    pub project_id: Option<String>,
}

/// A rule as stored, after its checks.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Checked {
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    pub description: String,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub(crate) struct RuleRow {
    pub id: String,
    pub security_group_id: String,
    pub project_id: String,
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    pub description: String,
    pub revision_number: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) const RULE_COLUMNS: &str = "SELECT r.id, r.security_group_id, r.project_id, r.direction, r.ethertype, r.protocol, \
     r.port_range_min, r.port_range_max, r.remote_ip_prefix, r.remote_group_id, r.description, r.revision_number, \
     r.created_at, r.updated_at FROM net_security_group_rules r";

impl RuleRow {
    pub(crate) fn view(self) -> SecurityGroupRule {
        SecurityGroupRule {
            id: self.id,
            security_group_id: self.security_group_id,
            project_id: self.project_id,
            direction: self.direction,
            ethertype: self.ethertype,
            protocol: self.protocol,
            port_range_min: self.port_range_min,
            port_range_max: self.port_range_max,
            remote_ip_prefix: self.remote_ip_prefix,
            remote_group_id: self.remote_group_id,
            description: self.description,
            revision_number: self.revision_number,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    fn owned(&self) -> Owned<'_> {
        Owned::of_project(KIND_SECURITY_GROUP_RULE, &self.id, &self.project_id)
    }
}

const FILTERS: &[(&str, Col)] = &[
    ("id", Col::Text("r.id")),
    ("security_group_id", Col::Text("r.security_group_id")),
    ("project_id", Col::Text("r.project_id")),
    ("tenant_id", Col::Text("r.project_id")),
    ("direction", Col::Text("r.direction")),
    ("ethertype", Col::Text("r.ethertype")),
    ("protocol", Col::Text("r.protocol")),
    ("port_range_min", Col::Int("r.port_range_min")),
    ("port_range_max", Col::Int("r.port_range_max")),
    ("remote_ip_prefix", Col::Text("r.remote_ip_prefix")),
    ("remote_group_id", Col::Text("r.remote_group_id")),
    ("description", Col::Text("r.description")),
];

const SORT_KEYS: &[SortKey] = &[
    SortKey {
        name: "id",
        expr: "r.id",
    },
    SortKey {
        name: "direction",
        expr: "r.direction",
    },
    SortKey {
        name: "ethertype",
        expr: "r.ethertype",
    },
    SortKey {
        name: "protocol",
        expr: "COALESCE(r.protocol, '')",
    },
    SortKey {
        name: "security_group_id",
        expr: "r.security_group_id",
    },
    SortKey {
        name: "created_at",
        expr: "r.created_at",
    },
];

/// Protocol names Neutron accepts, and the numbers they stand for.
const PROTOCOLS: &[(&str, u8)] = &[
    ("tcp", 6),
    ("udp", 17),
    ("icmp", 1),
    ("ipv6-icmp", 58),
    ("icmpv6", 58),
    ("sctp", 132),
    ("ah", 51),
    ("esp", 50),
    ("gre", 47),
    ("igmp", 2),
    ("udplite", 136),
    ("vrrp", 112),
];

fn bad(field: &str, why: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("Invalid input for {field}. Reason: {why}."))
}

/// Check a new rule's fields (the remote group's existence is checked by the caller).
pub(crate) fn check(new: &NewRule) -> Result<Checked> {
    if !matches!(new.direction.as_str(), "ingress" | "egress") {
        return Err(bad(
            "direction",
            format!("'{}' is not in ['ingress', 'egress']", new.direction),
        ));
    }
    let ethertype = new.ethertype.clone().unwrap_or_else(|| "IPv4".into());
    let v6 = match ethertype.to_ascii_lowercase().as_str() {
        "ipv4" => false,
        "ipv6" => true,
        _ => {
            return Err(bad(
                "ethertype",
                format!("'{ethertype}' is not in ['IPv4', 'IPv6']"),
            ))
        }
    };
    let ethertype = if v6 { "IPv6" } else { "IPv4" }.to_string();
    check_description(&new.description)?;
    let protocol = match new
        .protocol
        .as_deref()
        .map(|p| p.trim().to_ascii_lowercase())
    {
        None => None,
        Some(p) if p.is_empty() || p == "any" => None,
        Some(p) => {
            if let Ok(n) = p.parse::<u16>() {
                if n > 255 {
                    return Err(Error::coded(
                        400,
                        "SecurityGroupRuleInvalidProtocol",
                        format!("Security group rule protocol {p} not supported. Only protocol values [{}] and integer representations [0 to 255] are supported.", PROTOCOLS.iter().map(|x| x.0).collect::<Vec<_>>().join(", ")),
                    ));
                }
                Some(n.to_string())
            } else if PROTOCOLS.iter().any(|(name, _)| *name == p) {
                Some(if p == "icmpv6" {
                    "ipv6-icmp".to_string()
                } else {
                    p
                })
            } else {
                return Err(Error::coded(
                    400,
                    "SecurityGroupRuleInvalidProtocol",
                    format!("Security group rule protocol {p} not supported. Only protocol values [{}] and integer representations [0 to 255] are supported.", PROTOCOLS.iter().map(|x| x.0).collect::<Vec<_>>().join(", ")),
                ));
            }
        }
    };
    let number = protocol.as_deref().map(|p| {
        PROTOCOLS
            .iter()
            .find(|(n, _)| *n == p)
            .map(|(_, n)| *n as i64)
            .unwrap_or_else(|| p.parse().unwrap_or(-1))
    });
    let (min, max) = (new.port_range_min, new.port_range_max);
    match number {
        None if min.is_some() || max.is_some() => {
            return Err(Error::coded(
                400,
                "SecurityGroupProtocolRequiredWithPorts",
                "Must also specify protocol if port range is given.",
            ));
        }
        Some(6 | 17 | 132 | 136) => {
            if let (Some(a), Some(b)) = (min, max) {
                if a > b {
                    return Err(Error::coded(
                        400,
                        "SecurityGroupInvalidPortRange",
                        "For TCP/UDP protocols, port_range_min must be <= port_range_max",
                    ));
                }
            }
            for p in [min, max].into_iter().flatten() {
                if !(1..=65535).contains(&p) {
                    return Err(Error::coded(
                        400,
                        "SecurityGroupInvalidPortValue",
                        format!("Invalid value for port {p}."),
                    ));
                }
            }
            if min.is_some() != max.is_some() {
                return Err(Error::coded(
                    400,
                    "SecurityGroupInvalidPortRange",
                    "For TCP/UDP protocols, give both port_range_min and port_range_max.",
                ));
            }
        }
        Some(1 | 58) => {
            if min.is_none() && max.is_some() {
                return Err(Error::coded(400, "SecurityGroupMissingIcmpType", format!("ICMP code (port-range-max) {} is provided but ICMP type (port-range-min) is missing.", max.unwrap_or(0))));
            }
            for (f, v) in [("type", min), ("code", max)] {
                if let Some(v) = v {
                    if !(0..=255).contains(&v) {
                        return Err(Error::coded(400, "SecurityGroupInvalidIcmpValue", format!("Invalid value for ICMP {f} (port-range-{}): {v}. It must be 0 to 255.", if f == "type" { "min" } else { "max" })));
                    }
                }
            }
        }
        Some(_) if min.is_some() || max.is_some() => {
            return Err(Error::bad_request(format!(
                "Invalid input for operation: port ranges are only for TCP, UDP, SCTP and ICMP, not protocol {}.",
                protocol.as_deref().unwrap_or("")
            )));
        }
        _ => {}
    }
    if new.remote_ip_prefix.is_some() && new.remote_group_id.is_some() {
        return Err(Error::coded(
            400,
            "SecurityGroupRemoteGroupAndRemoteIpPrefix",
            "Only remote_ip_prefix or remote_group_id may be provided.",
        ));
    }
    let prefix = match &new.remote_ip_prefix {
        None => None,
        Some(p) => {
            let c = Cidr::parse(p).map_err(|e| bad("remote_ip_prefix", e))?;
            if c.v6 != v6 {
                return Err(Error::bad_request(format!(
                    "Conflicting value ethertype {ethertype} for CIDR {p}"
                )));
            }
            Some(c.to_string())
        }
    };
    Ok(Checked {
        direction: new.direction.clone(),
        ethertype,
        protocol,
        port_range_min: min,
        port_range_max: max,
        remote_ip_prefix: prefix,
        remote_group_id: new.remote_group_id.clone(),
        description: new.description.clone(),
    })
}

/// Insert a checked rule of `group` (quota claimed by the caller); its id.
pub(crate) async fn insert_rule(
    conn: &mut sqlx::AnyConnection,
    group: &str,
    project: &str,
    r: &Checked,
) -> Result<String> {
    let id = ids::new_uuid();
    let now = time::to_db(&time::now());
    sqlx::query(
        "INSERT INTO net_security_group_rules (id, security_group_id, project_id, direction, ethertype, protocol, \
         port_range_min, port_range_max, remote_ip_prefix, remote_group_id, description, revision_number, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12)",
    )
    .bind(&id)
    .bind(group)
    .bind(project)
    .bind(&r.direction)
    .bind(&r.ethertype)
    .bind(&r.protocol)
    .bind(r.port_range_min)
    .bind(r.port_range_max)
    .bind(&r.remote_ip_prefix)
    .bind(&r.remote_group_id)
    .bind(&r.description)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

impl Networking {
    async fn rule_row(&self, ctx: &Ctx, id: &str) -> Result<RuleRow> {
        let row: Option<RuleRow> = sqlx::query_as(&format!("{RULE_COLUMNS} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        let row = row.ok_or_else(|| Error::not_found(KIND_SECURITY_GROUP_RULE, id))?;
        ctx.authorize(Action::Read, &row.owned())?;
        Ok(row)
    }

    pub async fn rule_create(&self, ctx: &Ctx, new: NewRule) -> Result<SecurityGroupRule> {
        let group = self.group_row(ctx, &new.security_group_id).await?;
        ctx.authorize(Action::Write, &group.owned())?;
        if new
            .project_id
            .as_ref()
            .is_some_and(|p| *p != group.project_id)
            && !ctx.is_admin()
        {
            return Err(Error::forbidden("A rule belongs to its group's project."));
        }
        let rule = check(&new)?;
        if let Some(remote) = &rule.remote_group_id {
            let r = self.group_row(ctx, remote).await?;
            if r.project_id != group.project_id && !ctx.is_admin() {
                return Err(Error::not_found(KIND_SECURITY_GROUP, remote));
            }
        }
        let limit = self
            .quota_for(&group.project_id, "security_group_rule")
            .await?;
        let mut tx = self.db.pool.begin().await?;
        quotas::claim(&mut tx, &group.project_id, "security_group_rule", 1, limit).await?;
        // The group's lock: two identical rules at once cannot both pass the check.
        let locked = sqlx::query(
            "UPDATE net_security_groups SET revision_number = revision_number + 1 WHERE id = $1",
        )
        .bind(&group.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if locked == 0 {
            return Err(Error::not_found(KIND_SECURITY_GROUP, &group.id));
        }
        let existing: Vec<RuleRow> =
            sqlx::query_as(&format!("{RULE_COLUMNS} WHERE r.security_group_id = $1"))
                .bind(&group.id)
                .fetch_all(&mut *tx)
                .await?;
        for e in existing {
            let same = e.direction == rule.direction
                && e.ethertype == rule.ethertype
                && e.protocol == rule.protocol
                && e.port_range_min == rule.port_range_min
                && e.port_range_max == rule.port_range_max
                && e.remote_ip_prefix == rule.remote_ip_prefix
                && e.remote_group_id == rule.remote_group_id;
            if same {
                return Err(Error::coded(
                    409,
                    "SecurityGroupRuleExists",
                    format!("Security group rule already exists. Rule id is {}.", e.id),
                ));
            }
        }
        let id = insert_rule(&mut tx, &group.id, &group.project_id, &rule).await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(
                    ctx,
                    Some(&group.project_id),
                    KIND_SECURITY_GROUP,
                    &group.id,
                    "rule added",
                ),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.refresh_filters(std::slice::from_ref(&group.id)).await;
        Ok(self.rule_row(ctx, &id).await?.view())
    }

    pub async fn rule_get(&self, ctx: &Ctx, id: &str) -> Result<SecurityGroupRule> {
        Ok(self.rule_row(ctx, id).await?.view())
    }

    pub async fn rule_list(
        &self,
        ctx: &Ctx,
        q: ListQuery,
    ) -> Result<(Vec<SecurityGroupRule>, bool)> {
        let mut sql = Sql::new(RULE_COLUMNS);
        sql.push(" WHERE 1 = 1");
        if !ctx.is_admin() {
            sql.push(" AND r.project_id = ")
                .bind(Arg::Text(ctx.project_id().unwrap_or("").to_string()));
        }
        q.apply(&mut sql, FILTERS, "r.id")?;
        let marker_ok = match &q.marker {
            Some(m) => self.rule_row(ctx, m).await.is_ok(),
            None => true,
        };
        let limit = q.order(&mut sql, SORT_KEYS, "net_security_group_rules r", marker_ok)?;
        let rows: Vec<RuleRow> = sql.query_as().fetch_all(&self.db.pool).await?;
        let (page, more) = list::page(rows, limit);
        Ok((page.into_iter().map(RuleRow::view).collect(), more))
    }

    pub async fn rule_delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let row = self.rule_row(ctx, id).await?;
        ctx.authorize(Action::Write, &row.owned())?;
        let mut tx = self.db.pool.begin().await?;
        let gone = sqlx::query("DELETE FROM net_security_group_rules WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Err(Error::not_found(KIND_SECURITY_GROUP_RULE, id));
        }
        quotas::release(&mut tx, &row.project_id, "security_group_rule", 1).await?;
        sqlx::query(
            "UPDATE net_security_groups SET revision_number = revision_number + 1 WHERE id = $1",
        )
        .bind(&row.security_group_id)
        .execute(&mut *tx)
        .await?;
        self.events
            .record(
                &mut tx,
                NewEvent::new(
                    ctx,
                    Some(&row.project_id),
                    KIND_SECURITY_GROUP,
                    &row.security_group_id,
                    "rule removed",
                ),
            )
            .await?;
        tx.commit().await?;
        self.events.committed();
        self.refresh_filters(std::slice::from_ref(&row.security_group_id))
            .await;
        Ok(())
    }
}
