//! Glance v2 at `/image`: version discovery, images (create, show, list with filters,
//! sorting and marker paging, JSON-patch update, delete), image data (streamed upload,
//! streamed download with Range and Content-MD5), and the schemas clients read. Each
//! handler calls one image-service function and renders Glance's JSON.

mod actions;
mod data;
mod images;
mod import;
mod members;
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
    pub(crate) use ferrostack_core::Error;
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

use axum::routing::{get, post, put};
use prelude::*;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(versions))
        .route("/versions", get(versions))
        .route("/v2/images", get(list).post(create))
        .route("/v2/images/{id}", get(show).patch(update).delete(delete))
        .route("/v2/images/{id}/file", get(download).put(upload))
        .route("/v2/images/{id}/stage", put(stage))
        .route("/v2/images/{id}/import", post(import))
        .route("/v2/images/{id}/tasks", get(image_tasks))
        .route("/v2/tasks/{id}", get(task_show))
        .route("/v2/info/import", get(import_info))
        .route(
            "/v2/images/{id}/members",
            get(members_list).post(member_create),
        )
        .route(
            "/v2/images/{id}/members/{member}",
            get(member_show).put(member_update).delete(member_delete),
        )
        .route(
            "/v2/images/{id}/tags/{tag}",
            put(tag_put).delete(tag_delete),
        )
        .route("/v2/images/{id}/actions/deactivate", post(deactivate))
        .route("/v2/images/{id}/actions/reactivate", post(reactivate))
        .route("/v2/schemas/member", get(schema_member))
        .route("/v2/schemas/members", get(schema_members))
        .route("/v2/schemas/image", get(schema_image))
        .route("/v2/schemas/images", get(schema_images))
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
