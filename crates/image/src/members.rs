//! Image members (sharing a `shared` image with other projects), tags as their own
//! resource, and deactivation.

use ferrostack_core::{time, Ctx, Error, Result};
use ferrostack_types::image::ImageMember;

use crate::Images;

pub const MEMBER_STATUSES: &[&str] = &["pending", "accepted", "rejected"];

#[derive(sqlx::FromRow)]
struct MemberRow {
    image_id: String,
    member_id: String,
    status: String,
    created_at: String,
    updated_at: String,
}

impl From<MemberRow> for ImageMember {
    fn from(r: MemberRow) -> Self {
        ImageMember {
            image_id: r.image_id,
            member_id: r.member_id,
            status: r.status,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const MEMBER_COLUMNS: &str =
    "SELECT image_id, member_id, status, created_at, updated_at FROM image_members";

impl Images {
    /// Offer a shared image to another project (the owner or an admin); the member
    /// starts `pending` until that project accepts.
    pub async fn member_add(
        &self,
        ctx: &Ctx,
        image_id: &str,
        member_id: &str,
    ) -> Result<ImageMember> {
        let row = self.writable_row(ctx, image_id).await?;
        if row.visibility != "shared" {
            return Err(Error::forbidden(format!(
                "Image {image_id} is {}; only shared images have members. Set its visibility to shared first.",
                row.visibility
            )));
        }
        if member_id.is_empty()
            || member_id.len() > 64
            || !member_id.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'member': {member_id:?} is not a project id."
            )));
        }
        if member_id == row.owner {
            return Err(Error::bad_request(
                "The image's own project cannot be a member of it.",
            ));
        }
        let now = time::to_db(&time::now());
        sqlx::query("INSERT INTO image_members (image_id, member_id, status, created_at, updated_at) VALUES ($1, $2, 'pending', $3, $3)")
            .bind(image_id)
            .bind(member_id)
            .bind(&now)
            .execute(&self.db.pool)
            .await
            .map_err(|e| {
                ferrostack_core::error::unique_or(e, || format!("Project {member_id} is already a member of image {image_id}."))
            })?;
        self.changed(ctx, image_id, "member.added").await;
        self.member_get(ctx, image_id, member_id).await
    }

    /// The image's members: all of them for the owner and admins, its own entry for a
    /// member project.
    pub async fn member_list(&self, ctx: &Ctx, image_id: &str) -> Result<Vec<ImageMember>> {
        let row = self.visible_row(ctx, image_id).await?;
        let rows: Vec<MemberRow> = if ctx.is_admin() || ctx.project_id() == Some(row.owner.as_str())
        {
            sqlx::query_as(&format!(
                "{MEMBER_COLUMNS} WHERE image_id = $1 ORDER BY member_id"
            ))
            .bind(image_id)
            .fetch_all(&self.db.pool)
            .await?
        } else {
            sqlx::query_as(&format!(
                "{MEMBER_COLUMNS} WHERE image_id = $1 AND member_id = $2"
            ))
            .bind(image_id)
            .bind(ctx.project_id().unwrap_or(""))
            .fetch_all(&self.db.pool)
            .await?
        };
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn member_get(
        &self,
        ctx: &Ctx,
        image_id: &str,
        member_id: &str,
    ) -> Result<ImageMember> {
        let row = self.visible_row(ctx, image_id).await?;
        let mine = ctx.project_id() == Some(member_id);
        if !(ctx.is_admin() || mine || ctx.project_id() == Some(row.owner.as_str())) {
            return Err(Error::not_found("image member", member_id));
        }
        sqlx::query_as::<_, MemberRow>(&format!(
            "{MEMBER_COLUMNS} WHERE image_id = $1 AND member_id = $2"
        ))
        .bind(image_id)
        .bind(member_id)
        .fetch_optional(&self.db.pool)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::not_found("image member", member_id))
    }

    /// Accept, reject (or return to pending) an image offered to the caller's project.
    /// Only that project decides; the owner cannot accept for it.
    pub async fn member_update(
        &self,
        ctx: &Ctx,
        image_id: &str,
        member_id: &str,
        status: &str,
    ) -> Result<ImageMember> {
        self.member_get(ctx, image_id, member_id).await?;
        if !MEMBER_STATUSES.contains(&status) {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'status': {status:?} is not one of pending, accepted, rejected."
            )));
        }
        if ctx.project_id() != Some(member_id) {
            return Err(Error::forbidden(
                "Only the member project itself can accept or reject an image offered to it.",
            ));
        }
        if !ctx.can_write_project() {
            return Err(Error::forbidden(format!(
                "You may not accept or reject images for project {member_id}: your role in it is read-only."
            )));
        }
        sqlx::query("UPDATE image_members SET status = $3, updated_at = $4 WHERE image_id = $1 AND member_id = $2")
            .bind(image_id)
            .bind(member_id)
            .bind(status)
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await?;
        self.changed(ctx, image_id, "member.updated").await;
        self.member_get(ctx, image_id, member_id).await
    }

    /// Stop sharing with a project (the owner or an admin).
    pub async fn member_delete(&self, ctx: &Ctx, image_id: &str, member_id: &str) -> Result<()> {
        self.writable_row(ctx, image_id).await?;
        let r = sqlx::query("DELETE FROM image_members WHERE image_id = $1 AND member_id = $2")
            .bind(image_id)
            .bind(member_id)
            .execute(&self.db.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(Error::not_found("image member", member_id));
        }
        self.changed(ctx, image_id, "member.removed").await;
        Ok(())
    }

    /// PUT /v2/images/{id}/tags/{tag}: idempotent.
    pub async fn tag_add(&self, ctx: &Ctx, image_id: &str, tag: &str) -> Result<()> {
        self.writable_row(ctx, image_id).await?;
        crate::check_tag(tag)?;
        ferrostack_core::error::ok_if_exists(
            sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES ($1, $2)")
                .bind(image_id)
                .bind(tag)
                .execute(&self.db.pool)
                .await,
        )
    }

    pub async fn tag_delete(&self, ctx: &Ctx, image_id: &str, tag: &str) -> Result<()> {
        self.writable_row(ctx, image_id).await?;
        let r = sqlx::query("DELETE FROM image_tags WHERE image_id = $1 AND tag = $2")
            .bind(image_id)
            .bind(tag)
            .execute(&self.db.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(Error::not_found("tag", tag));
        }
        Ok(())
    }

    /// Deactivate (data no longer downloadable by non-admins) or reactivate an image.
    pub async fn image_set_active(&self, ctx: &Ctx, image_id: &str, active: bool) -> Result<()> {
        let row = self.writable_row(ctx, image_id).await?;
        let (from, to) = if active {
            ("deactivated", "active")
        } else {
            ("active", "deactivated")
        };
        if row.status == to {
            return Ok(());
        }
        if !self.set_status(ctx, image_id, from, to).await? {
            return Err(Error::forbidden(format!(
                "Image {image_id} is {}; only {from} images can be {}.",
                row.status,
                if active { "reactivated" } else { "deactivated" }
            )));
        }
        Ok(())
    }
}
