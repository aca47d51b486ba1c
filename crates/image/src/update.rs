//! Changing an image's record: JSON-patch operations (Glance's PATCH) checked and
//! applied to a copy, then stored in one conditional update, all or nothing.

use super::*;

impl Images {
    /// Apply JSON-patch operations, all or nothing.
    pub async fn image_update(&self, ctx: &Ctx, id: &str, ops: Vec<Patch>) -> Result<Image> {
        let row = self.writable_row(ctx, id).await?;
        let mut img = self.one(row).await?;
        for op in ops {
            let (path, value, remove, replace) = match op {
                Patch::Add(p, v) => (p, Some(v), false, false),
                Patch::Replace(p, v) => (p, Some(v), false, true),
                Patch::Remove(p) => (p, None, true, false),
            };
            // Not yet changed after create: a move must carry the image's count and bytes,
            // and an upload or import in flight charges the owner it started with.
            if path == "owner" {
                return Err(Error::forbidden(
                    "An image's owner is set when it is created (by an admin); changing it afterwards is not supported yet.",
                ));
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
        self.store_record(&img).await?;
        self.changed(ctx, id, "updated").await;
        self.image_get(ctx, id).await
    }

    async fn store_record(&self, img: &Image) -> Result<()> {
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
        tx.commit().await?;
        Ok(())
    }
}
