//! Server create: input checked, as many servers as the quota allows (at least
//! `min_count`), each placed by the scheduler in the transaction that inserts it — the
//! quota claim first, the host claim with the row — and a boot job queued in the same
//! transaction. A server that fits nowhere is created in ERROR with every host's reason.

use base64::Engine;
use ferrostack_core::events::NewEvent;
use ferrostack_core::jobs::NewJob;
use ferrostack_core::{ids, quotas, time, Ctx, Error, Result};
use ferrostack_types::compute::limits::*;
use ferrostack_types::compute::{Fault, Server};
use serde_json::json;
use std::collections::BTreeMap;

use crate::groups;
use crate::scheduler::{self, Request};
use crate::servers::{check_metadata, check_name, check_tag};
use crate::{Compute, JOB_BOOT, KIND_SERVER};

/// What networks a new server asks for: the project's one network ("auto"), none,
/// or these networks and ports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Networks {
    #[default]
    Auto,
    None,
    List(Vec<crate::NicRequest>),
}

/// POST /servers.
#[derive(Clone, Debug, Default)]
pub struct NewServer {
    pub name: String,
    pub image_id: Option<String>,
    pub flavor_id: String,
    pub key_name: Option<String>,
    /// Base64, as the API carries it.
    pub user_data: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// `zone`, or (admins) `zone:host`.
    pub availability_zone: Option<String>,
    pub min_count: i64,
    pub max_count: i64,
    pub config_drive: bool,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub networks: Networks,
    /// The server group the servers join (`os:scheduler_hints.group`).
    pub group: Option<String>,
    /// Security groups (names or ids) for the ports the servers get.
    pub security_groups: Vec<String>,
}

fn unlimited(limit: i64) -> i64 {
    if limit < 0 {
        i64::MAX / 4
    } else {
        limit
    }
}
impl Compute {
    /// Create `max_count` servers (or as many as the quota allows, at least
    /// `min_count`). Each is placed now; one that fits nowhere is created in ERROR
    /// with every host's reason as its fault, as Nova does.
    pub async fn server_create(&self, ctx: &Ctx, new: NewServer) -> Result<Vec<Server>> {
        let project = ctx
            .project_id()
            .ok_or_else(|| {
                Error::forbidden("Servers are created in a project: use a project-scoped token.")
            })?
            .to_string();
        if !ctx.can_write_project() {
            return Err(Error::forbidden(
                "Your role in this project is read-only: you may not create servers.",
            ));
        }
        let user = ctx.user_id.clone().unwrap_or_default();
        check_name(&new.name)?;
        if new.min_count < 1 || new.max_count < 1 {
            return Err(Error::bad_request(
                "Invalid input for field 'min_count'/'max_count': at least 1.",
            ));
        }
        if new.min_count > new.max_count {
            return Err(Error::bad_request("min_count must be <= max_count."));
        }
        if new.max_count > COUNT_MAX {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'max_count': at most {COUNT_MAX} servers per request."
            )));
        }
        if let Some(d) = &new.description {
            if d.len() > NAME_MAX || d.chars().any(|c| c.is_control() && c != '\n') {
                return Err(Error::bad_request(format!(
                    "Invalid description: at most {NAME_MAX} printable characters."
                )));
            }
        }
        let flavor = self
            .flavor_get(ctx, &new.flavor_id)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => {
                    Error::bad_request(format!("Flavor {} could not be found.", new.flavor_id))
                }
                e => e,
            })?;
        if flavor.disabled {
            return Err(Error::bad_request(format!(
                "Flavor {} is disabled.",
                flavor.id
            )));
        }
        let image = match &new.image_id {
            Some(id) => {
                let img = self.images.image_get(ctx, id).await.map_err(|e| match e {
                    Error::NotFound { .. } => {
                        Error::bad_request(format!("Can not find requested image {id}."))
                    }
                    e => e,
                })?;
                if img.status != "active" {
                    return Err(Error::bad_request(format!(
                        "Image {id} is not active (it is {}).",
                        img.status
                    )));
                }
                if img.min_ram > flavor.ram {
                    return Err(Error::bad_request(format!(
                        "Flavor's memory is too small for requested image: {} MiB < {} MiB.",
                        flavor.ram, img.min_ram
                    )));
                }
                if flavor.disk > 0 && img.min_disk > flavor.disk {
                    return Err(Error::bad_request(format!(
                        "Flavor's disk is too small for requested image: {} GiB < {} GiB.",
                        flavor.disk, img.min_disk
                    )));
                }
                let vsize = img.virtual_size.or(img.size).unwrap_or(0);
                if img.disk_format.as_deref() != Some("iso")
                    && flavor.disk > 0
                    && vsize > flavor.disk << 30
                {
                    return Err(Error::bad_request(format!(
                        "Flavor's disk is too small for requested image: {} GiB < the image's {} bytes.", flavor.disk, vsize
                    )));
                }
                Some(img)
            }
            None => {
                return Err(Error::bad_request(
                    "Missing imageRef: booting from a volume is not supported yet.",
                ))
            }
        };
        let key = match &new.key_name {
            Some(k) => Some(
                self.keypair_of(&user, k)
                    .await
                    .map_err(|_| Error::bad_request(format!("Invalid key_name provided: {k}.")))?,
            ),
            None => None,
        };
        let user_data = match &new.user_data {
            Some(u) => {
                if u.len() > USER_DATA_MAX {
                    return Err(Error::bad_request(format!(
                        "Invalid input for field 'user_data': it is {} bytes of base64, more than {USER_DATA_MAX}.", u.len()
                    )));
                }
                base64::engine::general_purpose::STANDARD
                    .decode(u.trim())
                    .map_err(|_| {
                        Error::bad_request("Invalid input for field 'user_data': not valid base64.")
                    })?;
                Some(u.trim().to_string())
            }
            None => None,
        };
        let md_limit = self.quota_for(&project, "metadata_items").await?;
        check_metadata(&new.metadata, md_limit)?;
        if new.tags.len() > TAGS_MAX {
            return Err(Error::bad_request(format!(
                "A server has at most {TAGS_MAX} tags."
            )));
        }
        for t in &new.tags {
            check_tag(t)?;
        }
        // zone, or zone:host (admins).
        let (az, forced_host) = match new.availability_zone.as_deref() {
            None | Some("") => (None, None),
            Some(z) => match z.split_once(':') {
                Some((zone, host)) => {
                    if !ctx.is_admin() {
                        return Err(Error::forbidden(
                            "Only an admin may name a host (zone:host).",
                        ));
                    }
                    (
                        Some(zone.to_string()).filter(|z| !z.is_empty()),
                        Some(host.to_string()),
                    )
                }
                None => (Some(z.to_string()), None),
            },
        };
        if let Some(z) = &az {
            let zones = self.availability_zones(ctx).await?;
            if !zones.iter().any(|(name, _)| name == z) {
                return Err(Error::bad_request(format!(
                    "The requested availability zone is not available: {z}."
                )));
            }
        }
        // As many as the quota allows, at least min_count.
        let per = [
            ("instances", 1),
            ("cores", flavor.vcpus),
            ("ram", flavor.ram),
        ];
        let mut count = new.max_count;
        let mut limits = Vec::new();
        for (r, each) in per {
            let limit = self.quota_for(&project, r).await?;
            limits.push((r, each, unlimited(limit)));
            if limit < 0 {
                continue;
            }
            let used = quotas::in_use(&self.db.pool, &project, r).await?;
            let room = ((limit - used).max(0)) / each.max(1);
            if room < new.min_count {
                return Err(Error::QuotaExceeded {
                    resource: r.into(),
                    used,
                    limit,
                    asked: new.min_count * each,
                });
            }
            count = count.min(room);
        }
        let group = match &new.group {
            Some(g) => Some(self.group_for_create(ctx, g).await?),
            None => None,
        };
        let members_limit = self.quota_for(&project, "server_group_members").await?;
        let (nics, nic_groups) = self
            .plan_nics(ctx, &new.networks, count, &new.security_groups)
            .await?;
        let disk_gb = flavor.disk.max(1);
        let mut request = Request {
            vcpus: flavor.vcpus,
            memory_mb: flavor.ram,
            disk_gb,
            availability_zone: az.clone(),
            host: forced_host,
            group: None,
            avoid_host: None,
            simulated: None,
        };
        let flavor_json = serde_json::to_string(&flavor).map_err(Error::internal)?;
        let reservation = format!("r-{}", &ids::new_uuid()[..8]);
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        // Quotas first (core's lock order: the claim is the transaction's first write).
        for (r, each, limit) in limits {
            quotas::claim(&mut tx, &project, r, count * each, limit).await?;
        }
        let mut created = Vec::new();
        let mut boots = 0;
        // Every placement first (quota rows, then host rows), then the jobs and events:
        // these take the event log's lock, and holding it while claiming the next host
        // could deadlock against a build failing on that host.
        let mut outcomes: Vec<(String, String, std::result::Result<String, String>)> = Vec::new();
        for i in 0..count {
            let id = ids::new_uuid();
            let name = if count > 1 {
                format!("{}-{}", new.name, i + 1)
            } else {
                new.name.clone()
            };
            sqlx::query(
                "INSERT INTO servers (id, name, project_id, user_id, image_id, flavor_id, flavor, vm_state, task_state, \
                 key_name, key_data, user_data, metadata, config_drive, description, reservation_id, launch_index, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'building', 'scheduling', $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
            )
            .bind(&id)
            .bind(&name)
            .bind(&project)
            .bind(&user)
            .bind(image.as_ref().map(|i| i.id.clone()))
            .bind(&flavor.id)
            .bind(&flavor_json)
            .bind(key.as_ref().map(|k| k.name.clone()))
            .bind(key.as_ref().map(|k| k.public_key.clone()))
            .bind(&user_data)
            .bind(serde_json::to_string(&new.metadata).map_err(Error::internal)?)
            .bind(new.config_drive as i64)
            .bind(&new.description)
            .bind(&reservation)
            .bind(i)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            for t in &new.tags {
                sqlx::query("INSERT INTO server_tags (server_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(&id)
                    .bind(t)
                    .execute(&mut *tx)
                    .await?;
            }
            Self::record_nics(&mut tx, &id, &nics, &nic_groups).await?;
            let action_id = self
                .action_start(&mut tx, ctx, &id, &project, "create")
                .await?;
            if let Some(g) = &group {
                request.group = groups::rule_in(&mut tx, g, &id).await?;
                groups::join(&mut tx, g, &id, members_limit).await?;
            }
            match scheduler::claim(&mut tx, &id, &request, self.cfg.weigher).await {
                Ok(host) => {
                    sqlx::query(
                        "UPDATE servers SET host_id = $2, host_name = $3, availability_zone = $4, task_state = 'spawning' WHERE id = $1",
                    )
                    .bind(&id)
                    .bind(&host.id)
                    .bind(&host.name)
                    .bind(&host.availability_zone)
                    .execute(&mut *tx)
                    .await?;
                    self.action_event(
                        &mut tx,
                        &action_id,
                        "conductor_schedule_and_build_instances",
                        Some("Success"),
                        Some(&host.name),
                        None,
                    )
                    .await?;
                    self.action_event(
                        &mut tx,
                        &action_id,
                        "compute__do_build_and_run_instance",
                        None,
                        Some(&host.name),
                        None,
                    )
                    .await?;
                    outcomes.push((id.clone(), action_id.clone(), Ok(host.name.clone())));
                }
                Err(e @ Error::InsufficientCapacity { .. }) => {
                    let fault = Fault {
                        code: 500,
                        message: e.to_string(),
                        created: now.clone(),
                    };
                    sqlx::query("UPDATE servers SET vm_state = 'error', task_state = NULL, fault = $2 WHERE id = $1")
                        .bind(&id)
                        .bind(serde_json::to_string(&fault).map_err(Error::internal)?)
                        .execute(&mut *tx)
                        .await?;
                    self.action_event(
                        &mut tx,
                        &action_id,
                        "conductor_schedule_and_build_instances",
                        Some("Error"),
                        None,
                        Some(&fault.message),
                    )
                    .await?;
                    outcomes.push((id.clone(), action_id.clone(), Err(fault.message)));
                }
                Err(e) => return Err(e),
            }
            created.push(id);
        }
        for (id, action_id, outcome) in outcomes {
            match outcome {
                Ok(host) => {
                    self.jobs
                        .enqueue(
                            &mut tx,
                            ctx,
                            NewJob {
                                kind: JOB_BOOT.into(),
                                subject_kind: KIND_SERVER.into(),
                                subject: id.clone(),
                                project_id: Some(project.clone()),
                                payload: json!({ "action_id": action_id }),
                                message: format!("Building on {host}"),
                            },
                        )
                        .await?;
                    boots += 1;
                    self.events
                        .record(
                            &mut tx,
                            NewEvent::new(ctx, Some(&project), KIND_SERVER, &id, "create")
                                .status("BUILD")
                                .message(format!("Scheduled on {host}")),
                        )
                        .await?;
                }
                Err(message) => {
                    self.events
                        .record(
                            &mut tx,
                            NewEvent::new(ctx, Some(&project), KIND_SERVER, &id, "create")
                                .status("ERROR")
                                .message(message),
                        )
                        .await?;
                }
            }
        }
        tx.commit().await?;
        if boots > 0 {
            self.jobs.wake(JOB_BOOT);
        } else {
            self.events.committed();
        }
        let mut out = Vec::new();
        for id in created {
            out.push(
                self.view(vec![self.server_row(&id).await?])
                    .await?
                    .remove(0),
            );
        }
        Ok(out)
    }
}
