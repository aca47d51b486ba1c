//! Changing an image's record: JSON-patch operations (Glance's PATCH) checked and
//! applied to a copy, then stored in one conditional update, all or nothing.

use super::*;

impl Images {
    /// Apply JSON-patch operations, all or nothing.
    pub async fn image_update(&self, ctx: &Ctx, id: &str, ops: Vec<Patch>) -> Result<Image> {
        let row = self.writable_row(ctx, id).await?;
        let mut img = self.one(row).await?;
        let mut new_owner: Option<String> = None;
        for op in ops {
            let (path, value, remove, replace) = match op {
                Patch::Add(p, v) => (p, Some(v), false, false),
                Patch::Replace(p, v) => (p, Some(v), false, true),
                Patch::Remove(p) => (p, None, true, false),
            };
            // An admin gives the image to another project: its count and bytes move
            // with it, in the transaction that stores the record (move_owner).
            if path == "owner" {
                let to = match (remove, &value) {
                    (false, Some(serde_json::Value::String(s))) => s.clone(),
                    (true, _) => {
                        return Err(Error::forbidden(
                            "Attribute 'owner' cannot be removed; replace it with another project's id.",
                        ))
                    }
                    _ => {
                        return Err(Error::bad_request(
                            "Invalid value for 'owner': it must be a project id (a string).",
                        ))
                    }
                };
                if to != img.owner {
                    check_owner(ctx, &to)?;
                    new_owner = Some(to);
                }
                continue;
            }
            // Where the data is: checked against the one store; nothing to store.
            if path == "locations" || path.starts_with("locations/") {
                let at = path.strip_prefix("locations/");
                self.check_location_patch(ctx, &img, at, value.as_ref(), remove, replace)?;
                continue;
            }
            if READ_ONLY.contains(&path.as_str()) {
                return Err(Error::forbidden(format!(
                    "Attribute '{path}' is read-only."
                )));
            }
            let text = |v: &Option<serde_json::Value>| -> Result<Option<String>> {
                match v {
                    Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                    Some(serde_json::Value::Null) | None => Ok(None),
                    Some(other) => Err(Error::bad_request(format!(
                        "Invalid value for '{path}': {other} is not a string."
                    ))),
                }
            };
            let flag = |v: &Option<serde_json::Value>| -> Result<bool> {
                v.as_ref().and_then(|v| v.as_bool()).ok_or_else(|| {
                    Error::bad_request(format!(
                        "Invalid value for '{path}': it must be true or false."
                    ))
                })
            };
            let int = |v: &Option<serde_json::Value>| -> Result<i64> {
                let n = v.as_ref().and_then(|v| v.as_i64()).ok_or_else(|| {
                    Error::bad_request(format!(
                        "Invalid value for '{path}': it must be a whole number."
                    ))
                })?;
                check_min(&path, n)?;
                Ok(n)
            };
            let core = [
                "name",
                "visibility",
                "protected",
                "os_hidden",
                "min_disk",
                "min_ram",
                "disk_format",
                "container_format",
                "tags",
            ];
            if remove && core.contains(&path.as_str()) {
                return Err(Error::forbidden(format!(
                    "Attribute '{path}' cannot be removed; replace it instead."
                )));
            }
            match path.as_str() {
                "name" => {
                    img.name = text(&value)?;
                    check_name(&img.name)?;
                }
                "visibility" => {
                    let v = text(&value)?.unwrap_or_default();
                    check_choice("visibility", &Some(v.clone()), VISIBILITIES)?;
                    check_publish(ctx, &v)?;
                    img.visibility = v;
                }
                "protected" => img.protected = flag(&value)?,
                "os_hidden" => img.hidden = flag(&value)?,
                "min_disk" => img.min_disk = int(&value)?,
                "min_ram" => img.min_ram = int(&value)?,
                "disk_format" | "container_format" => {
                    if img.status != "queued" {
                        return Err(Error::forbidden(format!(
                            "Attribute '{path}' can be changed only before data is uploaded (the image is {}).",
                            img.status
                        )));
                    }
                    let v = text(&value)?;
                    if path == "disk_format" {
                        check_choice("disk_format", &v, inspect::DISK_FORMATS)?;
                        img.disk_format = v;
                    } else {
                        check_choice("container_format", &v, inspect::CONTAINER_FORMATS)?;
                        img.container_format = v;
                    }
                }
                "tags" => {
                    let list: Vec<String> = value
                        .and_then(|v| serde_json::from_value(v).ok())
                        .ok_or_else(|| {
                            Error::bad_request(
                                "Invalid value for 'tags': it must be a list of strings.",
                            )
                        })?;
                    for t in &list {
                        check_tag(t)?;
                    }
                    img.tags = list;
                    img.tags.sort();
                    img.tags.dedup();
                }
                prop => {
                    check_property(prop, "")?;
                    if remove {
                        if img.properties.remove(prop).is_none() {
                            return Err(Error::conflict(format!(
                                "Property {prop} does not exist."
                            )));
                        }
                    } else {
                        if replace && !img.properties.contains_key(prop) {
                            return Err(Error::conflict(format!(
                                "Property {prop} does not exist; use add to create it."
                            )));
                        }
                        let v = text(&value)?.ok_or_else(|| {
                            Error::bad_request(format!(
                                "Invalid value for '{prop}': it must be a string."
                            ))
                        })?;
                        check_property(prop, &v)?;
                        img.properties.insert(prop.to_string(), v);
                    }
                }
            }
        }
        let moved_from = new_owner.as_ref().map(|_| img.owner.clone());
        self.store_record(&img, new_owner.as_deref()).await?;
        self.changed(ctx, id, "updated").await;
        if let Some(from) = moved_from {
            // The project it left refreshes its lists too.
            let ev =
                NewEvent::new(ctx, Some(&from), KIND, id, "updated").status(img.status.clone());
            if let Err(e) = self.events.publish(ev).await {
                tracing::warn!(image = %id, error = %e.detail(), "cannot publish an image event");
            }
        }
        self.image_get(ctx, id).await
    }

    async fn store_record(&self, img: &Image, new_owner: Option<&str>) -> Result<()> {
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        // Only if nothing changed the image since it was read (an upload or import may
        // have finished meanwhile, setting disk_format and status): no lost updates.
        let r = sqlx::query(
            "UPDATE images SET name = $2, visibility = $3, protected = $4, hidden = $5, min_disk = $6, \
             min_ram = $7, disk_format = $8, container_format = $9, updated_at = $10 \
             WHERE id = $1 AND updated_at = $11",
        )
        .bind(&img.id)
        .bind(&img.name)
        .bind(&img.visibility)
        .bind(img.protected as i64)
        .bind(img.hidden as i64)
        .bind(img.min_disk)
        .bind(img.min_ram)
        .bind(&img.disk_format)
        .bind(&img.container_format)
        .bind(&now)
        .bind(&img.updated_at)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Err(Error::conflict(format!(
                "Image {} changed while this update was made (its data may have just arrived); read it again and retry.",
                img.id
            )));
        }
        sqlx::query("DELETE FROM image_tags WHERE image_id = $1")
            .bind(&img.id)
            .execute(&mut *tx)
            .await?;
        for t in &img.tags {
            sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES ($1, $2)")
                .bind(&img.id)
                .bind(t)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM image_properties WHERE image_id = $1")
            .bind(&img.id)
            .execute(&mut *tx)
            .await?;
        for (k, v) in &img.properties {
            sqlx::query("INSERT INTO image_properties (image_id, name, value) VALUES ($1, $2, $3)")
                .bind(&img.id)
                .bind(k)
                .bind(v)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(to) = new_owner {
            self.move_owner(&mut tx, &img.id, &img.owner, to).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Give image `id` from project `from` to project `to` inside the record's
    /// transaction: its image count and stored bytes leave `from` and are claimed in
    /// `to` against `to`'s quotas. Refused while data is arriving or staged (an upload,
    /// a stage or an import holds bytes for the owner it started with); an upload that
    /// starts after this commits reads the new owner (store.rs image_upload).
    async fn move_owner(
        &self,
        tx: &mut sqlx::AnyConnection,
        id: &str,
        from: &str,
        to: &str,
    ) -> Result<()> {
        let moved: Option<(Option<i64>,)> = sqlx::query_as(
            "UPDATE images SET owner = $3 WHERE id = $1 AND owner = $2 AND reserved = 0 \
             AND status IN ('queued', 'active', 'deactivated', 'killed') RETURNING size",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((size,)) = moved else {
            return Err(Error::conflict(format!(
                "Image {id} is receiving or importing data; change its owner when that has finished."
            )));
        };
        // The two projects' usage rows in one order (by id) whatever the direction, so
        // two moves the opposite ways wait for each other instead of deadlocking.
        let bytes = size.unwrap_or(0);
        if from < to {
            self.release_moved(&mut *tx, from, size).await?;
            self.claim_moved(&mut *tx, to, bytes).await?;
        } else {
            self.claim_moved(&mut *tx, to, bytes).await?;
            self.release_moved(&mut *tx, from, size).await?;
        }
        // An owner is not a member of its own image.
        sqlx::query("DELETE FROM image_members WHERE image_id = $1 AND member_id = $2")
            .bind(id)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    async fn release_moved(
        &self,
        tx: &mut sqlx::AnyConnection,
        from: &str,
        size: Option<i64>,
    ) -> Result<()> {
        quotas::release(&mut *tx, from, QUOTA_IMAGES, 1).await?;
        usage::release_row(&mut *tx, from, size, 0).await
    }

    /// Claim a moved image's count and `bytes` in project `to`, against its quotas.
    async fn claim_moved(&self, tx: &mut sqlx::AnyConnection, to: &str, bytes: i64) -> Result<()> {
        quotas::claim(&mut *tx, to, QUOTA_IMAGES, 1, self.cfg.quota_images)
            .await
            .map_err(|e| match e {
                Error::QuotaExceeded { used, limit, .. } => Error::TooLarge(format!(
                    "Project {to} already has {used} of its {limit} images; it cannot take another."
                )),
                other => other,
            })?;
        if bytes > 0 {
            quotas::claim(&mut *tx, to, usage::QUOTA_BYTES, bytes, self.cfg.quota_bytes)
                .await
                .map_err(|e| match e {
                    Error::QuotaExceeded { used, limit, .. } => Error::TooLarge(format!(
                        "Project {to} uses {used} of its {limit} bytes of image storage; this image's {bytes} bytes do not fit."
                    )),
                    other => other,
                })?;
        }
        Ok(())
    }
}
