//! The Images panels' server functions: reads, `create_image`, and `image_do`, which
//! carries every change to the image service (the same calls as the Glance API).

use super::prelude::*;

/// A change to an image, as the console asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageOp {
    Update {
        id: String,
        name: String,
        visibility: String,
        min_disk: String,
        min_ram: String,
        protected: bool,
        /// Custom properties, one `key=value` per line.
        properties: String,
    },
    Delete {
        id: String,
    },
    /// Protect an image once its upload is done (protected images cannot be deleted,
    /// so the record is created unprotected: a failed upload can still be cleaned up).
    Protect {
        id: String,
    },
    SetActive {
        id: String,
        active: bool,
    },
    MemberAdd {
        id: String,
        member: String,
    },
    MemberRemove {
        id: String,
        member: String,
    },
    /// The caller's project accepts or rejects an image shared with it.
    MemberDecide {
        id: String,
        accept: bool,
    },
}

#[server(endpoint = "image_do", input = Json)]
pub async fn image_do(op: ImageOp) -> Result<Done, ConsoleError> {
    ssr::run(op).await.map_err(crate::auth::ssr::say)
}

/// A page of images, with the marker of the next page when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagesPage {
    pub items: Vec<Image>,
    pub next: Option<String>,
    /// Project names by id, for the owner column (admins).
    pub owners: Vec<(String, String)>,
    /// The images on this page the caller may change (the service's rule).
    pub writable: Vec<String>,
}

/// Images the caller may see, filtered as the Glance API filters (`all` is Admin >
/// Images: every project's, refused by the service to non-admins).
#[server(endpoint = "list_images")]
pub async fn list_images(
    all: bool,
    name: String,
    visibility: String,
    status: String,
    marker: String,
) -> Result<ImagesPage, ConsoleError> {
    let (id, ctx, _) = crate::auth::ssr::caller().await?;
    let images = ssr::images()?;
    let per_page = crate::settings::ssr::page_size().await;
    let some = |s: String| (!s.is_empty()).then_some(s);
    // Admin > Images asks for every project's images; the service refuses that to
    // anyone who is not an admin.
    let q = ferrostack_image::ImageQuery {
        name: some(name),
        status: some(status),
        visibility: some(visibility),
        every_project: all,
        marker: some(marker),
        limit: Some(per_page as usize),
        sort: vec![("name".into(), "asc".into())],
        ..Default::default()
    };
    let (items, more) = images
        .image_list(&ctx, q)
        .await
        .map_err(crate::auth::ssr::say)?;
    let owners = if ctx.is_admin() {
        let (projects, _) = id
            .project_page(&ctx, "", 0, 1000)
            .await
            .map_err(crate::auth::ssr::say)?;
        projects.into_iter().map(|p| (p.id, p.name)).collect()
    } else {
        Vec::new()
    };
    Ok(ImagesPage {
        next: more.then(|| items.last().map(|i| i.id.clone())).flatten(),
        writable: items
            .iter()
            .filter(|i| images.may_change(&ctx, &i.owner))
            .map(|i| i.id.clone())
            .collect(),
        items,
        owners,
    })
}

/// One image with what its detail page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDetail {
    pub image: Image,
    pub members: Vec<ImageMember>,
    pub tasks: Vec<ImageTask>,
    /// Its timeline: what happened to it, when, by whom, under which request id.
    pub events: Vec<Event>,
    /// Whether the caller may change it (its project's member, or an admin).
    pub mine: bool,
    pub is_admin: bool,
}

#[server(endpoint = "get_image")]
pub async fn get_image(id: String) -> Result<ImageDetail, ConsoleError> {
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let images = ssr::images()?;
    let say = crate::auth::ssr::say;
    let image = images.image_get(&ctx, &id).await.map_err(say)?;
    let mine = images.may_change(&ctx, &image.owner);
    let members = images.member_list(&ctx, &id).await.unwrap_or_default();
    let tasks = if mine {
        images.image_tasks(&ctx, &id).await.map_err(say)?
    } else {
        Vec::new()
    };
    let events = images.image_events(&ctx, &id).await.map_err(say)?;
    Ok(ImageDetail {
        image,
        members,
        tasks,
        events,
        mine,
        is_admin: ctx.is_admin(),
    })
}

/// Create the image record the upload then fills (status `queued`).
#[server(endpoint = "create_image")]
pub async fn create_image(
    name: String,
    disk_format: String,
    visibility: String,
    min_disk: String,
    min_ram: String,
) -> Result<Image, ConsoleError> {
    let (_, ctx, _) = crate::auth::ssr::caller().await?;
    let images = ssr::images()?;
    let new = ferrostack_image::NewImage {
        name: Some(name),
        disk_format: Some(disk_format),
        container_format: Some("bare".into()),
        visibility: Some(visibility),
        min_disk: ssr::whole("Minimum disk", &min_disk)?,
        min_ram: ssr::whole("Minimum RAM", &min_ram)?,
        ..Default::default()
    };
    images
        .image_create(&ctx, new)
        .await
        .map_err(crate::auth::ssr::say)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;

    use ferrostack_core::{Error, Result};
    use ferrostack_image::{Images, Patch};

    use super::ImageOp;
    use crate::error::ConsoleError;
    use crate::kit::Done;

    pub fn images() -> Result<Arc<Images>, ConsoleError> {
        crate::services::services().map(|s| s.images)
    }

    /// A form's whole number ("" is 0), or a reason.
    pub fn whole(label: &str, s: &str) -> Result<i64, ConsoleError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(0);
        }
        s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ConsoleError::bad_request(format!("{label} must be a whole number, 0 or more."))
        })
    }

    /// `key=value` lines into properties, refusing lines without `=`.
    fn properties(text: &str) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (k, v) = line.split_once('=').ok_or_else(|| {
                Error::bad_request(format!(
                    "Property line {} ({line:?}) needs the form key=value.",
                    n + 1
                ))
            })?;
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
        Ok(out)
    }

    pub async fn run(op: ImageOp) -> Result<Done> {
        let (_, ctx, _) = crate::auth::ssr::caller()
            .await
            .map_err(|e| Error::Unauthenticated(crate::auth::reason(&e)))?;
        let images = images().map_err(Error::internal)?;
        let number = |label: &str, s: &str| {
            whole(label, s).map_err(|e| Error::bad_request(crate::auth::reason(&e)))
        };
        match op {
            ImageOp::Update {
                id,
                name,
                visibility,
                min_disk,
                min_ram,
                protected,
                properties: text,
            } => {
                let now = images.image_get(&ctx, &id).await?;
                let mut ops = vec![
                    Patch::Replace("name".into(), name.clone().into()),
                    Patch::Replace("visibility".into(), visibility.into()),
                    Patch::Replace("min_disk".into(), number("Minimum disk", &min_disk)?.into()),
                    Patch::Replace("min_ram".into(), number("Minimum RAM", &min_ram)?.into()),
                    Patch::Replace("protected".into(), protected.into()),
                ];
                let wanted = properties(&text)?;
                for k in now.properties.keys() {
                    if !k.starts_with("os_glance") && !wanted.iter().any(|(w, _)| w == k) {
                        ops.push(Patch::Remove(k.clone()));
                    }
                }
                for (k, v) in wanted {
                    if now.properties.get(&k) != Some(&v) {
                        ops.push(Patch::Add(k, v.into()));
                    }
                }
                images.image_update(&ctx, &id, ops).await?;
                Ok(Done::say(format!("Image {name} saved.")))
            }
            ImageOp::Delete { id } => {
                let img = images.image_get(&ctx, &id).await?;
                images.image_delete(&ctx, &id).await?;
                Ok(Done::say(format!(
                    "Image {} deleted.",
                    img.name.unwrap_or(id)
                )))
            }
            ImageOp::Protect { id } => {
                images
                    .image_update(
                        &ctx,
                        &id,
                        vec![Patch::Replace("protected".into(), true.into())],
                    )
                    .await?;
                Ok(Done::say("Image protected."))
            }
            ImageOp::SetActive { id, active } => {
                images.image_set_active(&ctx, &id, active).await?;
                Ok(Done::say(if active {
                    "Image reactivated."
                } else {
                    "Image deactivated: it cannot be downloaded or booted until it is reactivated."
                }))
            }
            ImageOp::MemberAdd { id, member } => {
                images.member_add(&ctx, &id, member.trim()).await?;
                Ok(Done::say(format!(
                    "Shared with project {}; it appears there once that project accepts.",
                    member.trim()
                )))
            }
            ImageOp::MemberRemove { id, member } => {
                images.member_delete(&ctx, &id, &member).await?;
                Ok(Done::say(format!(
                    "Project {member} no longer shares the image."
                )))
            }
            ImageOp::MemberDecide { id, accept } => {
                let project = ctx
                    .project_id()
                    .ok_or_else(|| Error::forbidden("Choose a project first."))?
                    .to_string();
                let status = if accept { "accepted" } else { "rejected" };
                images.member_update(&ctx, &id, &project, status).await?;
                Ok(Done::say(format!("Image {status}.")))
            }
        }
    }
}
