//! The IPAM: which address of a subnet a port gets. Callers hold their network's row
//! lock (ports, subnets and deletes on one network take it first), so allocations on
//! a network happen one at a time; each address is one row of `net_ip_allocations`
//! under a unique (subnet, key), which would refuse a second holder even so.
//!
//! A search starts after the subnet's cursor (the last address handed out) and wraps
//! around, reading allocated keys in ranges, so a released address is reused only
//! after the pool has gone round once, and a /16 costs a few reads per port, not one
//! per address. A pool with no free address says so: 409 IpAddressGenerationFailure.

use ferrostack_core::{Error, Result};

use crate::cidr::{eui64, from_key, ip_string, key, parse_ip, Cidr};
use crate::subnets::SubnetRow;

/// One address given to a port.
#[derive(Clone, Debug)]
pub(crate) struct Allocation {
    pub subnet_id: String,
    pub ip_address: String,
    pub key: String,
}

const CHUNK: i64 = 256;

fn pool_ranges(s: &SubnetRow, cidr: &Cidr) -> Vec<(u128, u128)> {
    let mut r: Vec<(u128, u128)> = s
        .pools()
        .iter()
        .filter_map(|p| {
            let (a, b) = (parse_ip(&p.start)?, parse_ip(&p.end)?);
            (cidr.contains(a.0, a.1) && cidr.contains(b.0, b.1) && a.1 <= b.1).then_some((a.1, b.1))
        })
        .collect();
    r.sort();
    r
}

async fn taken(conn: &mut sqlx::AnyConnection, subnet: &str, ip: u128) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM net_ip_allocations WHERE subnet_id = $1 AND ip_key = $2",
    )
    .bind(subnet)
    .bind(key(ip))
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// The first free address in [from, to], if any.
async fn first_free(
    conn: &mut sqlx::AnyConnection,
    subnet: &str,
    from: u128,
    to: u128,
) -> Result<Option<u128>> {
    let mut candidate = from;
    while candidate <= to {
        let keys: Vec<(String,)> = sqlx::query_as(
            "SELECT ip_key FROM net_ip_allocations WHERE subnet_id = $1 AND ip_key >= $2 AND ip_key <= $3 \
             ORDER BY ip_key LIMIT $4",
        )
        .bind(subnet)
        .bind(key(candidate))
        .bind(key(to))
        .bind(CHUNK)
        .fetch_all(&mut *conn)
        .await?;
        let n = keys.len() as i64;
        for (k,) in keys {
            let k = from_key(&k).ok_or_else(|| Error::internal(format!("bad ip key {k}")))?;
            if k > candidate {
                return Ok(Some(candidate));
            }
            candidate = k + 1;
            if candidate == 0 {
                return Ok(None);
            }
        }
        if n < CHUNK {
            return Ok((candidate <= to).then_some(candidate));
        }
    }
    Ok(None)
}

fn exhausted(s: &SubnetRow) -> Error {
    Error::coded(
        409,
        "IpAddressGenerationFailure",
        format!(
            "No more IP addresses available on network {} (subnet {} {} is full).",
            s.network_id, s.id, s.cidr
        ),
    )
}

/// Whether `s` has a free pool address (for picking a subnet to allocate from).
pub(crate) async fn has_room(conn: &mut sqlx::AnyConnection, s: &SubnetRow) -> Result<bool> {
    let cidr = s.cidr()?;
    for (a, b) in pool_ranges(s, &cidr) {
        let used: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM net_ip_allocations WHERE subnet_id = $1 AND ip_key >= $2 AND ip_key <= $3",
        )
        .bind(&s.id)
        .bind(key(a))
        .bind(key(b))
        .fetch_one(&mut *conn)
        .await?;
        if (used as u128) < b - a + 1 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A free address of `s` for a port with `mac`: its SLAAC address on a SLAAC subnet,
/// else the next free pool address after the cursor.
pub(crate) async fn next(
    conn: &mut sqlx::AnyConnection,
    s: &SubnetRow,
    mac: &[u8; 6],
) -> Result<Allocation> {
    let cidr = s.cidr()?;
    if s.slaac() {
        let ip = eui64(cidr.net, mac);
        if taken(conn, &s.id, ip).await? {
            return Err(Error::coded(
                409,
                "IpAddressInUse",
                format!(
                    "Unable to complete operation for network {}. The IP address {} is in use.",
                    s.network_id,
                    ip_string(true, ip)
                ),
            ));
        }
        return Ok(Allocation {
            subnet_id: s.id.clone(),
            ip_address: ip_string(true, ip),
            key: key(ip),
        });
    }
    if !has_room(conn, s).await? {
        return Err(exhausted(s));
    }
    let ranges = pool_ranges(s, &cidr);
    let cursor: String = sqlx::query_scalar("SELECT ipam_cursor FROM net_subnets WHERE id = $1")
        .bind(&s.id)
        .fetch_one(&mut *conn)
        .await?;
    let after = from_key(&cursor).map(|c| c.saturating_add(1)).unwrap_or(0);
    // Ranges from the cursor to the end, then from the start up to the cursor.
    let mut order: Vec<(u128, u128)> = Vec::new();
    for (a, b) in &ranges {
        if *b >= after {
            order.push(((*a).max(after), *b));
        }
    }
    for (a, b) in &ranges {
        if *a < after {
            order.push((*a, (*b).min(after.saturating_sub(1))));
        }
    }
    for (a, b) in order {
        if let Some(ip) = first_free(conn, &s.id, a, b).await? {
            sqlx::query("UPDATE net_subnets SET ipam_cursor = $2 WHERE id = $1")
                .bind(&s.id)
                .bind(key(ip))
                .execute(&mut *conn)
                .await?;
            return Ok(Allocation {
                subnet_id: s.id.clone(),
                ip_address: ip_string(cidr.v6, ip),
                key: key(ip),
            });
        }
    }
    Err(exhausted(s))
}

/// The address a client asked for on `s`: inside it, a host address, free, and not
/// the gateway unless the port is a router's.
pub(crate) async fn exact(
    conn: &mut sqlx::AnyConnection,
    s: &SubnetRow,
    ip: &str,
    router_port: bool,
) -> Result<Allocation> {
    let cidr = s.cidr()?;
    let invalid = || {
        Error::bad_request(format!(
            "Invalid input for operation: IP address {ip} is not a valid IP for the specified subnet."
        ))
    };
    let (v6, n) = parse_ip(ip).ok_or_else(invalid)?;
    if !cidr.contains(v6, n) {
        return Err(invalid());
    }
    let (lo, hi) = cidr.usable().ok_or_else(invalid)?;
    if n < lo || n > hi {
        return Err(invalid());
    }
    if !router_port && s.gateway_ip.as_deref().and_then(parse_ip).map(|g| g.1) == Some(n) {
        return Err(Error::coded(
            409,
            "IpAddressInUse",
            format!("Unable to complete operation for network {}. The IP address {ip} is in use: it is the subnet's gateway.", s.network_id),
        ));
    }
    if taken(conn, &s.id, n).await? {
        return Err(Error::coded(
            409,
            "IpAddressAlreadyAllocated",
            format!(
                "IP address {} already allocated in subnet {}",
                ip_string(v6, n),
                s.id
            ),
        ));
    }
    Ok(Allocation {
        subnet_id: s.id.clone(),
        ip_address: ip_string(v6, n),
        key: key(n),
    })
}
