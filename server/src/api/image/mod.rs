//! Glance v2 at `/image`: version discovery, images (create, show, list with filters,
//! sorting and marker paging, JSON-patch update, delete), image data (streamed upload,
//! streamed download with Range and Content-MD5), and the schemas clients read. Each
//! handler calls one image-service function and renders Glance's JSON.

mod actions;
mod data;
mod images;
mod import;
mod members;
mod metadef_tags;
mod metadefs;
mod schemas;

pub use data::data_body;
pub use images::view;

/// What the handler modules share: imports and each other's handlers and views.
mod prelude {
    #![allow(unused_imports)]
    pub(crate) use std::collections::BTreeMap;

    pub(crate) use axum::body::Body;
    pub(crate) use axum::extract::{Path, RawQuery, State};
    pub(crate) use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
    pub(crate) use axum::response::{IntoResponse, Response};
    pub(crate) use axum::{Json, Router};
    pub(crate) use ferrostack_core::{Ctx, Error};
    pub(crate) use ferrostack_image::{ImageQuery, NewImage, Patch, UploadBody, IMPORT_METHODS};
    pub(crate) use ferrostack_types::image::{Image, ImageMember, ImageTask};
    pub(crate) use futures_util::TryStreamExt;
    pub(crate) use serde_json::{json, Map, Value};
    pub(crate) use tokio::io::{AsyncReadExt, AsyncSeekExt};

    pub(crate) use super::{actions::*, data::*, images::*, import::*, members::*, schemas::*};
    pub(crate) use crate::api::error::{GResult, GlanceError};
    pub(crate) use crate::api::extract::{parse_json, Authed, Filters};
    pub(crate) use crate::api::paging::Paging;
    pub(crate) use crate::state::AppState;
}

use crate::api::table::{Access::*, Routes};
use prelude::*;

/// The version document at the base URL with its trailing slash (`/image/`), which
/// a nested router cannot register.
pub fn root_routes() -> Routes {
    Routes::new().get("/image/", Public, versions)
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/", Public, versions)
        .get("/versions", Public, versions)
        .get("/{version}", Public, other_version)
        .get("/{version}/", Public, other_version)
        .get("/{version}/{*rest}", Public, other_version_path)
        .get("/v2/images", Token, list)
        .post("/v2/images", Create, create)
        .get("/v2/images/{id}", ProjectRead, show)
        .patch("/v2/images/{id}", ProjectWrite, update)
        .delete("/v2/images/{id}", ProjectWrite, delete)
        .get("/v2/images/{id}/file", ProjectRead, download)
        .put("/v2/images/{id}/file", ProjectWrite, upload)
        .put("/v2/images/{id}/stage", ProjectWrite, stage)
        .post("/v2/images/{id}/import", ProjectWrite, import)
        .get("/v2/images/{id}/tasks", ProjectRead, image_tasks)
        .get("/v2/tasks", Token, task_list)
        .post("/v2/tasks", Admin, task_create)
        .get("/v2/tasks/{id}", ProjectRead, task_show)
        .get("/v2/schemas/task", Public, schema_task)
        .get("/v2/schemas/tasks", Public, schema_tasks)
        .get("/v2/info/import", Token, import_info)
        .get("/v2/info/stores", Token, stores_info)
        .get("/v2/images/{id}/members", ProjectRead, members_list)
        .post("/v2/images/{id}/members", ProjectWrite, member_create)
        .get("/v2/images/{id}/members/{member}", ProjectRead, member_show)
        .put(
            "/v2/images/{id}/members/{member}",
            ProjectWrite,
            member_update,
        )
        .delete(
            "/v2/images/{id}/members/{member}",
            ProjectWrite,
            member_delete,
        )
        .put("/v2/images/{id}/tags/{tag}", ProjectWrite, tag_put)
        .delete("/v2/images/{id}/tags/{tag}", ProjectWrite, tag_delete)
        .post("/v2/images/{id}/actions/deactivate", Admin, deactivate)
        .post("/v2/images/{id}/actions/reactivate", Admin, reactivate)
        .get("/v2/schemas/member", Public, schema_member)
        .get("/v2/schemas/members", Public, schema_members)
        .get("/v2/schemas/image", Public, schema_image)
        .get("/v2/schemas/images", Public, schema_images)
        .merge(metadefs::routes())
}

/// A path under another version than v2 (`/image/v1/images`, `/image/v3/`), or with
/// no version at all (`/image/images`): Glance's version negotiation answers with the
/// versions it has (300), so a client that guessed learns where to go. An unknown path
/// under v2 is an ordinary 404.
async fn other_version(state: State<AppState>) -> Response {
    versions(state).await
}

async fn other_version_path(
    state: State<AppState>,
    Path((version, rest)): Path<(String, String)>,
) -> Response {
    if version == "v2" {
        return GlanceError::from(Error::coded(
            404,
            "NotFound",
            format!("The resource could not be found: there is no /image/v2/{rest}."),
        ))
        .into_response();
    }
    versions(state).await
}

async fn versions(State(s): State<AppState>) -> Response {
    let href = format!("{}/image/v2/", s.public_url);
    let v = |id: &str, status: &str| json!({"id": id, "status": status, "links": [{"rel": "self", "href": href}]});
    // 300 Multiple Choices, as Glance answers; clients pick the CURRENT one.
    (
        StatusCode::MULTIPLE_CHOICES,
        Json(json!({"versions": [v("v2.16", "CURRENT"), v("v2.0", "SUPPORTED")]})),
    )
        .into_response()
}
