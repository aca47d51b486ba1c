//! The Instances panels' server functions: reads, the launch dialog's choices and its
//! dry run (quota and the scheduler's placement, before the user clicks), launch, and
//! `instance_do`, which carries every change to the compute service (the same calls as
//! the Nova API).

use super::prelude::*;

/// A change to a server, as the console asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstanceOp {
    /// One of the names `ferrostack_compute::offered` gives (start, stop, reboot, …).
    Action {
        id: String,
        action: String,
    },
    Resize {
        id: String,
        flavor: String,
    },
    Snapshot {
        id: String,
        name: String,
    },
    Delete {
        id: String,
    },
    /// The same action (`start`, `stop`, `reboot`, `delete`, …) on several servers.
    Bulk {
        ids: Vec<String>,
        action: String,
    },
    /// A key pair for the caller: imported when `public_key` is given, else generated
    /// (its private key is shown once).
    KeypairCreate {
        name: String,
        public_key: String,
    },
}

#[server(endpoint = "instance_do", input = Json)]
pub async fn instance_do(op: InstanceOp) -> Result<Done, ConsoleError> {
    ssr::run(op).await.map_err(crate::auth::ssr::say)
}

/// One server as a list row shows it, with what the caller may do to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceItem {
    pub server: Server,
    pub actions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstancesPage {
    pub items: Vec<InstanceItem>,
    pub next: Option<String>,
    /// Project names by id (Admin > Instances).
    pub projects: Vec<(String, String)>,
    /// Whether the caller may launch (a member or admin of the project).
    pub can_launch: bool,
}

/// The project's servers (`all`: every project's, for admins; the service refuses it
/// to others), newest first, a page after `marker`.
#[server(endpoint = "list_instances")]
pub async fn list_instances(all: bool, marker: String) -> Result<InstancesPage, ConsoleError> {
    // Every context before the first await: a render may be dropped while this waits.
    let compute = ssr::compute()?;
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    if all && !ctx.is_admin() {
        return Err(ConsoleError::new(403, "Admin > Instances is for admins."));
    }
    let per_page = crate::settings::ssr::page_size().await;
    let q = ferrostack_compute::ServerQuery {
        all_tenants: all,
        limit: Some(per_page as usize),
        marker: (!marker.is_empty()).then_some(marker),
        ..Default::default()
    };
    let (servers, more) = compute.server_list(&ctx, &q).await.map_err(say)?;
    let projects = if all {
        let (ps, _) = id.project_page(&ctx, "", 0, 1000).await.map_err(say)?;
        ps.into_iter().map(|p| (p.id, p.name)).collect()
    } else {
        Vec::new()
    };
    Ok(InstancesPage {
        next: more.then(|| servers.last().map(|s| s.id.clone())).flatten(),
        items: servers
            .into_iter()
            .map(|s| InstanceItem {
                actions: ferrostack_compute::offered(&ctx, &s)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                server: s,
            })
            .collect(),
        projects,
        can_launch: ctx.project_id().is_some() && ctx.can_write_project(),
    })
}

/// One server with what its detail page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceDetail {
    pub server: Server,
    pub actions: Vec<String>,
    pub image_name: Option<String>,
    /// Its instance actions (newest first) with their events.
    pub log: Vec<InstanceAction>,
    pub flavors: Vec<(String, String)>,
}

#[server(endpoint = "get_instance")]
pub async fn get_instance(id: String) -> Result<InstanceDetail, ConsoleError> {
    // Every context before the first await: a render may be dropped while this waits.
    let services = crate::services::services()?;
    let c = services.compute.clone();
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let server = c.server_get(&ctx, &id).await.map_err(say)?;
    let mut log = Vec::new();
    for a in c.instance_actions(&ctx, &id).await.map_err(say)? {
        log.push(
            c.instance_action(&ctx, &id, &a.request_id)
                .await
                .map_err(say)?,
        );
    }
    let image_name = match &server.image_id {
        Some(i) => services
            .images
            .image_get(&ctx, i)
            .await
            .ok()
            .and_then(|i| i.name),
        None => None,
    };
    let flavors = c
        .flavor_list(&ctx, &Default::default())
        .await
        .map_err(say)?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    Ok(InstanceDetail {
        actions: ferrostack_compute::offered(&ctx, &server)
            .into_iter()
            .map(str::to_string)
            .collect(),
        server,
        image_name,
        log,
        flavors,
    })
}

/// A page (same origin) showing the server's console of `kind` (`serial` or `vnc`),
/// valid for a few minutes.
#[server(endpoint = "instance_console")]
pub async fn instance_console(id: String, kind: String) -> Result<String, ConsoleError> {
    let c = ssr::compute()?;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let k = match kind.as_str() {
        "serial" => ferrostack_compute::ConsoleKind::Serial,
        "vnc" => ferrostack_compute::ConsoleKind::Vnc,
        "log" => ferrostack_compute::ConsoleKind::Log,
        _ => {
            return Err(ConsoleError::bad_request(
                "A console is serial, vnc or log.",
            ))
        }
    };
    let token = c
        .console_token(&ctx, &id, k)
        .await
        .map_err(crate::auth::ssr::say)?;
    Ok(match k {
        ferrostack_compute::ConsoleKind::Serial => {
            format!("/compute/console/terminal?token={token}")
        }
        ferrostack_compute::ConsoleKind::Vnc => format!("/compute/console/novnc?token={token}"),
        ferrostack_compute::ConsoleKind::Log => format!("/compute/console/logview?token={token}"),
    })
}

/// What the launch dialog offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaunchOptions {
    /// Active images the project may boot: (id, name).
    pub images: Vec<(String, String)>,
    /// (id, "name — N vCPU, M MiB, D GiB").
    pub flavors: Vec<(String, String)>,
    pub keypairs: Vec<String>,
    pub zones: Vec<String>,
    /// (id, "name (policy)").
    pub groups: Vec<(String, String)>,
    /// Networks an instance may be plugged into: (id, "name (CIDRs)").
    pub networks: Vec<(String, String)>,
}

#[server(endpoint = "launch_choices")]
pub async fn launch_choices() -> Result<LaunchOptions, ConsoleError> {
    let s = crate::services::services()?;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let c = &s.compute;
    let (images, _) = s
        .images
        .image_list(
            &ctx,
            ferrostack_image::ImageQuery {
                status: Some("active".into()),
                limit: Some(200),
                sort: vec![("name".into(), "asc".into())],
                ..Default::default()
            },
        )
        .await
        .map_err(say)?;
    let flavors = c
        .flavor_list(&ctx, &Default::default())
        .await
        .map_err(say)?;
    Ok(LaunchOptions {
        images: images
            .into_iter()
            .map(|i| (i.id.clone(), i.name.unwrap_or(i.id)))
            .collect(),
        flavors: flavors
            .into_iter()
            .map(|f| {
                let label = format!(
                    "{} — {} vCPU, {} MiB, {} GiB",
                    f.name, f.vcpus, f.ram, f.disk
                );
                (f.id, label)
            })
            .collect(),
        keypairs: c
            .keypair_list(&ctx, None)
            .await
            .map_err(say)?
            .into_iter()
            .map(|k| k.name)
            .collect(),
        zones: c
            .availability_zones(&ctx)
            .await
            .map_err(say)?
            .into_iter()
            .filter(|(_, up)| *up)
            .map(|(z, _)| z)
            .collect(),
        groups: c
            .group_list(&ctx, false)
            .await
            .map_err(say)?
            .into_iter()
            .map(|g| (g.id, format!("{} ({})", g.name, g.policy)))
            .collect(),
        networks: ssr::networks(&s.network, &ctx).await?,
    })
}

/// Whether a launch would go through now: what it uses of each quota, and where its
/// servers would land or why they fit nowhere. Nothing is claimed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchVerdict {
    /// (resource, used, asked, limit; -1 unlimited).
    pub quota: Vec<(String, i64, i64, i64)>,
    /// The quota that refuses the launch, in words.
    pub over_quota: Option<String>,
    /// Hosts the servers would land on (admins see names; members see how many).
    pub fits: usize,
    /// Why the rest fit nowhere.
    pub no_room: Option<String>,
}

#[server(endpoint = "launch_check")]
pub async fn launch_check(
    flavor: String,
    zone: String,
    count: String,
    group: String,
) -> Result<LaunchVerdict, ConsoleError> {
    let c = ssr::compute()?;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let say = crate::auth::ssr::say;
    let count = ssr::count(&count)?;
    let project = ctx
        .project_id()
        .ok_or_else(|| ConsoleError::bad_request("Choose a project first."))?
        .to_string();
    let f = c.flavor_get(&ctx, &flavor).await.map_err(say)?;
    let limits = c.quota_get(&ctx, &project).await.map_err(say)?;
    let used = c.quota_usage(&ctx, &project).await.map_err(say)?;
    let mut quota = Vec::new();
    let mut over_quota = None;
    for (r, each, unit) in [
        ("instances", 1, ""),
        ("cores", f.vcpus, " vCPUs"),
        ("ram", f.ram, " MiB RAM"),
    ] {
        let limit = limits.get(r);
        let u = used.get(r).copied().unwrap_or(0);
        let asked = each * count;
        if over_quota.is_none() && limit >= 0 && u + asked > limit {
            over_quota = Some(match r {
                "instances" => {
                    format!("{u} of {limit} instances used: {asked} more would pass the quota.")
                }
                _ => format!(
                    "{u}{unit} of {limit}{unit} used: {asked}{unit} more would pass the quota."
                ),
            });
        }
        quota.push((r.to_string(), u, asked, limit));
    }
    let zone = (!zone.is_empty()).then_some(zone);
    let group = (!group.is_empty()).then_some(group);
    let p = c
        .schedule_check(&ctx, &flavor, zone, count, group.as_deref())
        .await
        .map_err(say)?;
    let no_room = (p.fits.len() < count as usize).then(|| {
        let placed = p.fits.len();
        let head = if placed == 0 {
            format!("No host has room for a {} server now", f.name)
        } else {
            format!("Only {placed} of {count} fit now")
        };
        format!("{head}: {}.", p.reasons.join("; "))
    });
    Ok(LaunchVerdict {
        quota,
        over_quota,
        fits: p.fits.len(),
        no_room,
    })
}

#[server(endpoint = "launch_instances")]
#[allow(clippy::too_many_arguments)]
pub async fn launch_instances(
    name: String,
    image: String,
    flavor: String,
    key_name: String,
    user_data: String,
    count: String,
    zone: String,
    group: String,
    networks: String,
) -> Result<Done, ConsoleError> {
    let c = ssr::compute()?;
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let count = ssr::count(&count)?;
    let some = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let new = ferrostack_compute::NewServer {
        name: name.trim().to_string(),
        image_id: some(image),
        flavor_id: flavor,
        key_name: some(key_name),
        user_data: (!user_data.is_empty()).then(|| ssr::base64(&user_data)),
        availability_zone: some(zone),
        min_count: count,
        max_count: count,
        group: some(group),
        networks: ssr::nics(&networks),
        ..Default::default()
    };
    let made = c
        .server_create(&ctx, new)
        .await
        .map_err(crate::auth::ssr::say)?;
    let errors: Vec<String> = made
        .iter()
        .filter_map(|s| {
            s.fault
                .as_ref()
                .map(|f| format!("{}: {}", s.name, f.message))
        })
        .collect();
    if !errors.is_empty() {
        return Err(ConsoleError::new(409, errors.join(" ")));
    }
    Ok(Done::say(if made.len() == 1 {
        format!("Launching {}.", made[0].name)
    } else {
        format!("Launching {} servers.", made.len())
    }))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;

    use ferrostack_compute::{Compute, ServerAction};
    use ferrostack_core::{Error, Result};

    use super::InstanceOp;
    use crate::error::ConsoleError;
    use crate::kit::{Done, Reveal};

    pub fn compute() -> std::result::Result<Arc<Compute>, ConsoleError> {
        crate::services::services().map(|s| s.compute)
    }

    /// How many servers a launch asks for: 1 to 100.
    pub fn count(s: &str) -> std::result::Result<i64, ConsoleError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(1);
        }
        s.parse::<i64>()
            .ok()
            .filter(|n| (1..=ferrostack_compute::limits::COUNT_MAX).contains(n))
            .ok_or_else(|| ConsoleError::bad_request("Count is a whole number from 1 to 100."))
    }

    /// The networks a launch may use: the project's own and shared ones, not external
    /// (Nova refuses those for servers here), with their subnets' CIDRs.
    pub async fn networks(
        net: &ferrostack_network::Networking,
        ctx: &ferrostack_core::Ctx,
    ) -> std::result::Result<Vec<(String, String)>, ConsoleError> {
        let say = crate::auth::ssr::say;
        let q = |f: &[(&str, &str)]| ferrostack_network::ListQuery {
            filters: f
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            limit: Some(500),
            ..Default::default()
        };
        let mut filters = vec![("router:external", "false")];
        if let Some(p) = ctx.project_id() {
            if ctx.is_admin() {
                filters.push(("project_id", p));
            }
        }
        let (mut nets, _) = net.network_list(ctx, q(&filters)).await.map_err(say)?;
        if ctx.is_admin() {
            let (shared, _) = net
                .network_list(ctx, q(&[("router:external", "false"), ("shared", "true")]))
                .await
                .map_err(say)?;
            nets.extend(
                shared
                    .into_iter()
                    .filter(|s| !nets.iter().any(|n| n.id == s.id))
                    .collect::<Vec<_>>(),
            );
        }
        let mut sq = q(&[]);
        sq.filters = nets
            .iter()
            .map(|n| ("network_id".to_string(), n.id.clone()))
            .collect();
        let subnets = if sq.filters.is_empty() {
            Vec::new()
        } else {
            net.subnet_list(ctx, sq).await.map_err(say)?.0
        };
        Ok(nets
            .into_iter()
            .map(|n| {
                let cidrs: Vec<_> = subnets
                    .iter()
                    .filter(|s| s.network_id == n.id)
                    .map(|s| s.cidr.clone())
                    .collect();
                let name = if n.name.is_empty() {
                    n.id.clone()
                } else {
                    n.name.clone()
                };
                let label = if cidrs.is_empty() {
                    format!("{name} (no subnet)")
                } else {
                    format!("{name} ({})", cidrs.join(", "))
                };
                (n.id, label)
            })
            .collect())
    }

    /// The networks ticked in the launch dialog (comma-separated ids): none ticked
    /// is a server without a network.
    pub fn nics(list: &str) -> ferrostack_compute::Networks {
        let ids: Vec<_> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|id| ferrostack_compute::NicRequest {
                network: Some(id.to_string()),
                port: None,
                fixed_ip: None,
            })
            .collect();
        if ids.is_empty() {
            ferrostack_compute::Networks::None
        } else {
            ferrostack_compute::Networks::List(ids)
        }
    }

    pub fn base64(s: &str) -> String {
        use std::fmt::Write;
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, c)| n | (*c as u32) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    let _ = out.write_char(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub async fn run(op: InstanceOp) -> Result<Done> {
        let c = compute().map_err(Error::internal)?;
        let (_, ctx, _) = crate::auth::ssr::caller()
            .await
            .map_err(|e| Error::Unauthenticated(crate::auth::reason(&e)))?;
        match op {
            InstanceOp::Action { id, action } => {
                let s = c.server_get(&ctx, &id).await?;
                match action.as_str() {
                    "lock" => c.server_lock(&ctx, &id, None).await?,
                    "unlock" => c.server_unlock(&ctx, &id).await?,
                    "confirmResize" => c.server_confirm_resize(&ctx, &id).await?,
                    "revertResize" => c.server_revert_resize(&ctx, &id).await?,
                    "rescue" => c.server_rescue(&ctx, &id, None).await?,
                    "unshelve" => c.server_unshelve(&ctx, &id, None).await?,
                    "rebuild" => {
                        let image = s.image_id.clone().ok_or_else(|| {
                            Error::bad_request("The server has no image to rebuild from.")
                        })?;
                        c.server_rebuild(
                            &ctx,
                            &id,
                            ferrostack_compute::Rebuild {
                                image_id: image,
                                ..Default::default()
                            },
                        )
                        .await?
                    }
                    other => {
                        let a = ServerAction::parse(other, false).ok_or_else(|| {
                            Error::bad_request(format!("There is no action {other}."))
                        })?;
                        c.server_action(&ctx, &id, a).await?
                    }
                }
                Ok(Done::say(format!("{}: {action} requested.", s.name)))
            }
            InstanceOp::Resize { id, flavor } => {
                c.server_resize(&ctx, &id, &flavor).await?;
                Ok(Done::say(
                    "Resize requested: confirm or revert it once the server shows VERIFY_RESIZE.",
                ))
            }
            InstanceOp::Snapshot { id, name } => {
                let image = c
                    .server_create_image(&ctx, &id, name.trim(), Default::default())
                    .await?;
                Ok(Done::say(format!(
                    "Snapshot {} ({image}) is being made; it appears in Images.",
                    name.trim()
                )))
            }
            InstanceOp::Delete { id } => {
                let s = c.server_get(&ctx, &id).await?;
                c.server_delete(&ctx, &id).await?;
                Ok(Done::say(format!("{} is being deleted.", s.name)))
            }
            InstanceOp::Bulk { ids, action } => {
                if ids.len() > 100 {
                    return Err(Error::bad_request("At most 100 servers at once."));
                }
                let (mut done, mut refused, mut first) = (0, Vec::new(), None);
                for id in &ids {
                    let name = c
                        .server_get(&ctx, id)
                        .await
                        .map(|s| s.name)
                        .unwrap_or_else(|_| id.clone());
                    let r = match action.as_str() {
                        "delete" => c.server_delete(&ctx, id).await,
                        other => match ServerAction::parse(other, false) {
                            Some(a) => c.server_action(&ctx, id, a).await,
                            None => Err(Error::bad_request(format!("There is no action {other}."))),
                        },
                    };
                    match r {
                        Ok(()) => done += 1,
                        Err(e) => {
                            refused.push(format!("{name}: {e}"));
                            first.get_or_insert(e);
                        }
                    }
                }
                // Nothing done: the first refusal, with its status (403, 404, 409).
                if done == 0 {
                    if let Some(e) = first {
                        return Err(e);
                    }
                }
                let mut msg = format!("{action} requested for {done} of {} servers.", ids.len());
                if !refused.is_empty() {
                    msg = format!("{msg} Refused: {}", refused.join(" "));
                }
                Ok(Done::say(msg))
            }
            InstanceOp::KeypairCreate { name, public_key } => {
                let key = (!public_key.trim().is_empty()).then(|| public_key.trim().to_string());
                let generated = key.is_none();
                let k = c.keypair_create(&ctx, name.trim(), key, None, None).await?;
                let mut done = Done::say(format!("Key pair {} is ready.", k.name));
                if generated {
                    done.reveal = k.private_key.map(|p| Reveal {
                        id: k.name.clone(),
                        secret: p,
                        clouds_yaml: String::new(),
                    });
                }
                Ok(done)
            }
        }
    }
}
