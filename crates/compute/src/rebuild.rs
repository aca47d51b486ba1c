//! The requests that change what a server is, on its host: rebuild, rescue and
//! createImage (moves.rs has the ones that change where it runs). Each is checked
//! here and queued as an action job (changes.rs does the work).

use std::collections::BTreeMap;

use ferrostack_core::{Action, Ctx, Error, Result};
use ferrostack_image::NewImage;
use ferrostack_types::compute::Flavor;
use serde_json::json;

use crate::actions::ServerAction;
use crate::servers::{check_metadata, check_name};
use crate::status::*;
use crate::Compute;

/// POST /servers/{id}/action {"rebuild": …}.
#[derive(Clone, Debug, Default)]
pub struct Rebuild {
    pub image_id: String,
    pub name: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub description: Option<Option<String>>,
}

impl Compute {
    /// The image a rebuild or rescue boots: active, and fitting the server's flavor.
    async fn image_for(&self, ctx: &Ctx, image_id: &str, flavor: &Flavor) -> Result<()> {
        let img = self
            .images
            .image_get(ctx, image_id)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => {
                    Error::bad_request(format!("Image {image_id} could not be found."))
                }
                e => e,
            })?;
        if img.status != "active" {
            return Err(Error::bad_request(format!(
                "Image {image_id} is not active (it is {}).",
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
        Ok(())
    }

    /// Rebuild from `image` (the same server id, host and flavor; a new root disk).
    pub async fn server_rebuild(&self, ctx: &Ctx, id: &str, r: Rebuild) -> Result<()> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        self.image_for(ctx, &r.image_id, &row.flavor()?).await?;
        if let Some(n) = &r.name {
            check_name(n)?;
        }
        if let Some(md) = &r.metadata {
            check_metadata(md, self.quota_for(&row.project_id, "metadata_items").await?)?;
        }
        let (mut tx, row, action_id) = self.begin_action(ctx, id, ServerAction::Rebuild).await?;
        sqlx::query("UPDATE servers SET image_id = $2, name = COALESCE($3, name), fault = NULL WHERE id = $1")
            .bind(&row.id)
            .bind(&r.image_id)
            .bind(&r.name)
            .execute(&mut *tx)
            .await?;
        if let Some(md) = &r.metadata {
            sqlx::query("UPDATE servers SET metadata = $2 WHERE id = $1")
                .bind(&row.id)
                .bind(serde_json::to_string(md).map_err(Error::internal)?)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(d) = &r.description {
            sqlx::query("UPDATE servers SET description = $2 WHERE id = $1")
                .bind(&row.id)
                .bind(d)
                .execute(&mut *tx)
                .await?;
        }
        let was_running = row.vm_state != STOPPED;
        self.queue_action(
            tx,
            ctx,
            &row,
            ServerAction::Rebuild,
            &action_id,
            json!({"was_running": was_running}),
        )
        .await
    }

    /// Rescue: boot `image` (default: the server's own) with the server's disk attached
    /// as the second disk.
    pub async fn server_rescue(&self, ctx: &Ctx, id: &str, image: Option<String>) -> Result<()> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        let image = match image.or(row.image_id.clone()) {
            Some(i) => i,
            None => {
                return Err(Error::bad_request(
                    "Name a rescue image (rescue_image_ref).",
                ))
            }
        };
        self.image_for(ctx, &image, &row.flavor()?).await?;
        let (tx, row, action_id) = self.begin_action(ctx, id, ServerAction::Rescue).await?;
        self.queue_action(
            tx,
            ctx,
            &row,
            ServerAction::Rescue,
            &action_id,
            json!({"rescue_image": image}),
        )
        .await
    }

    /// Snapshot the root disk into a new image of the server's project; its id now, the
    /// image turns active when the job has uploaded it.
    pub async fn server_create_image(
        &self,
        ctx: &Ctx,
        id: &str,
        name: &str,
        metadata: BTreeMap<String, String>,
    ) -> Result<String> {
        let row = self.server_for(ctx, id, Action::Write).await?;
        Self::check_lock(ctx, &row, "sent 'createImage'")?;
        let (from, _) = ([ACTIVE, STOPPED, PAUSED, SUSPENDED], IMAGE_SNAPSHOT);
        if row.task_state.is_some() || !from.contains(&row.vm_state.as_str()) {
            return Err(Error::conflict(format!(
                "Cannot 'createImage' instance {id} while it is in {}.",
                row.task_state
                    .as_deref()
                    .map(|t| format!("task_state {t}"))
                    .unwrap_or_else(|| format!("vm_state {}", row.vm_state))
            )));
        }
        let host = self
            .host_row(row.host_id.as_deref().unwrap_or_default())
            .await?;
        let simulated = ferrostack_hypervisor::Hypervisor::is_simulated(&host.uri);
        let source = match &row.image_id {
            Some(i) => Some(self.images.image_get(&Ctx::internal(""), i).await?),
            None => None,
        };
        // A simulated server's disk is its image: its snapshot has the image's format.
        let disk_format = if simulated {
            source
                .as_ref()
                .and_then(|i| i.disk_format.clone())
                .unwrap_or_else(|| "raw".into())
        } else {
            "qcow2".into()
        };
        let mut properties = metadata;
        properties.insert("image_type".into(), "snapshot".into());
        properties.insert("instance_uuid".into(), row.id.clone());
        if let Some(i) = &row.image_id {
            properties.insert("base_image_ref".into(), i.clone());
        }
        let flavor = row.flavor()?;
        let image = self
            .images
            .image_create(
                ctx,
                NewImage {
                    name: Some(name.to_string()),
                    visibility: Some("private".into()),
                    disk_format: Some(disk_format),
                    container_format: Some("bare".into()),
                    min_disk: flavor.disk,
                    min_ram: source.as_ref().map(|i| i.min_ram).unwrap_or(0),
                    properties,
                    ..Default::default()
                },
            )
            .await?;
        let begun = self.begin_action(ctx, id, ServerAction::CreateImage).await;
        let (tx, row, action_id) = match begun {
            Ok(b) => b,
            Err(e) => {
                let _ = self.images.image_delete(ctx, &image.id).await;
                return Err(e);
            }
        };
        let queued = self
            .queue_action(
                tx,
                ctx,
                &row,
                ServerAction::CreateImage,
                &action_id,
                json!({"image_id": image.id}),
            )
            .await;
        if let Err(e) = queued {
            let _ = self.images.image_delete(ctx, &image.id).await;
            return Err(e);
        }
        Ok(image.id)
    }
}
