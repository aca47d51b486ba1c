//! Glance v2 at `/image`: version discovery, images (create, show, list with filters,
//! sorting and marker paging, JSON-patch update, delete), image data (streamed upload,
//! streamed download with Range and Content-MD5), and the schemas clients read. Each
//! handler calls one image-service function and renders Glance's JSON.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use ferrostack_core::Error;
use ferrostack_image::{ImageQuery, NewImage, Patch, UploadBody, IMPORT_METHODS};
use ferrostack_types::image::{Image, ImageMember, ImageTask};
use futures_util::TryStreamExt;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::error::title;
use super::extract::{parse_json, Authed, Filters};
use super::paging::Paging;
use crate::state::AppState;

/// A service error in Glance's shape: `{"code": N, "title": "...", "message": "..."}`.
#[derive(Debug)]
pub struct GlanceError(pub Error);

impl From<Error> for GlanceError {
    fn from(e: Error) -> Self {
        GlanceError(e)
    }
}

impl IntoResponse for GlanceError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Error::Internal(detail) = &self.0 {
            tracing::error!(detail = %detail, "internal error");
        }
        let body =
            json!({"code": status.as_u16(), "title": title(status), "message": self.0.to_string()});
        let mut resp = (status, Json(body)).into_response();
        super::error::with_retry_after(&mut resp, &self.0);
        resp
    }
}

type GResult<T> = Result<T, GlanceError>;

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

fn glance_time(t: &str) -> String {
    // Glance shows whole seconds: 2026-11-24T10:00:00Z.
    t.get(..19)
        .map(|s| format!("{s}Z"))
        .unwrap_or_else(|| t.to_string())
}

pub fn view(i: &Image) -> Value {
    let mut m = Map::new();
    for (k, v) in &i.properties {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    let core = json!({
        "id": i.id, "name": i.name, "status": i.status, "visibility": i.visibility,
        "protected": i.protected, "os_hidden": i.hidden, "owner": i.owner,
        "checksum": i.checksum, "os_hash_algo": i.os_hash_algo, "os_hash_value": i.os_hash_value,
        "size": i.size, "virtual_size": i.virtual_size, "min_disk": i.min_disk, "min_ram": i.min_ram,
        "disk_format": i.disk_format, "container_format": i.container_format, "tags": i.tags,
        "created_at": glance_time(&i.created_at), "updated_at": glance_time(&i.updated_at),
        "self": format!("/v2/images/{}", i.id), "file": format!("/v2/images/{}/file", i.id),
        "schema": "/v2/schemas/image",
    });
    if let Value::Object(c) = core {
        m.extend(c);
    }
    Value::Object(m)
}

fn string_field(m: &mut Map<String, Value>, key: &str) -> Result<Option<String>, Error> {
    match m.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Error::bad_request(format!(
            "Invalid input for field '{key}': {other} is not a string."
        ))),
    }
}

fn bool_field(m: &mut Map<String, Value>, key: &str) -> Result<bool, Error> {
    match m.remove(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(other) => Err(Error::bad_request(format!(
            "Invalid input for field '{key}': {other} is not true or false."
        ))),
    }
}

fn int_field(m: &mut Map<String, Value>, key: &str) -> Result<i64, Error> {
    match m.remove(key) {
        None => Ok(0),
        Some(v) => v.as_i64().ok_or_else(|| {
            Error::bad_request(format!(
                "Invalid input for field '{key}': {v} is not a whole number."
            ))
        }),
    }
}

async fn create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    body: axum::body::Bytes,
) -> GResult<Response> {
    let mut m: Map<String, Value> = parse_json(&body)?;
    let mut new = NewImage {
        id: string_field(&mut m, "id")?,
        name: string_field(&mut m, "name")?,
        visibility: string_field(&mut m, "visibility")?,
        protected: bool_field(&mut m, "protected")?,
        hidden: bool_field(&mut m, "os_hidden")?,
        disk_format: string_field(&mut m, "disk_format")?,
        container_format: string_field(&mut m, "container_format")?,
        min_disk: int_field(&mut m, "min_disk")?,
        min_ram: int_field(&mut m, "min_ram")?,
        ..Default::default()
    };
    if let Some(tags) = m.remove("tags") {
        new.tags = serde_json::from_value(tags).map_err(|_| {
            Error::bad_request("Invalid input for field 'tags': it must be a list of strings.")
        })?;
    }
    for (k, v) in m {
        match v {
            Value::String(v) => {
                new.properties.insert(k, v);
            }
            other => {
                return Err(Error::bad_request(format!(
                    "Invalid input for property '{k}': {other} is not a string (custom properties are strings)."
                ))
                .into())
            }
        }
    }
    let img = s.services.images.image_create(&ctx, new).await?;
    let mut resp = (StatusCode::CREATED, Json(view(&img))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/image/v2/images/{}", s.public_url, img.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    // Clients (openstacksdk) learn from this header that they may stage and import.
    if let Ok(v) = HeaderValue::from_str(&IMPORT_METHODS.join(",")) {
        resp.headers_mut()
            .insert("OpenStack-image-import-methods", v);
    }
    Ok(resp)
}

async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<Json<Value>> {
    Ok(Json(view(&s.services.images.image_get(&ctx, &id).await?)))
}

async fn list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(raw): RawQuery,
) -> GResult<Json<Value>> {
    let pairs = Filters::pairs(raw.as_deref());
    let (paging, filters) = Paging::take(&pairs, ferrostack_image::DEFAULT_SORT.0)?;
    let mut q = ImageQuery {
        limit: paging.limit,
        marker: paging.marker.clone(),
        sort: paging.sort.clone(),
        ..Default::default()
    };
    for (k, v) in &filters {
        match k.as_str() {
            "name" => q.name = Some(v.clone()),
            "status" => q.status = Some(v.clone()),
            "visibility" => q.visibility = Some(v.clone()),
            "owner" => q.owner = Some(v.clone()),
            "disk_format" => q.disk_format = Some(v.clone()),
            "container_format" => q.container_format = Some(v.clone()),
            "tag" => q.tags.push(v.clone()),
            "os_hidden" => q.hidden = v.eq_ignore_ascii_case("true"),
            "member_status" => {}
            "id" => q.id = Some(v.clone()),
            "created_at" | "updated_at" => {
                let (op, at) = ferrostack_core::list::split_operator(v);
                q.times.push((k.clone(), op.to_string(), at.to_string()));
            }
            "size_min" | "size_max" => {
                let n = v.parse::<i64>().map_err(|_| {
                    Error::bad_request(format!(
                        "Invalid {k} {v:?}: it must be a whole number of bytes."
                    ))
                })?;
                if k == "size_min" {
                    q.size_min = Some(n);
                } else {
                    q.size_max = Some(n);
                }
            }
            prop => q.properties.push((prop.to_string(), v.clone())),
        }
    }
    let (images, more) = s.services.images.image_list(&ctx, q).await?;
    let mut body = json!({
        "images": images.iter().map(view).collect::<Vec<_>>(),
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    });
    if more {
        if let Some(last) = images.last() {
            body["next"] = Value::String(paging.next_link("/v2/images", &pairs, &last.id));
        }
    }
    Ok(Json(body))
}

async fn update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> GResult<Json<Value>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/openstack-images-v2.1-json-patch")
        && !ct.starts_with("application/openstack-images-v2.0-json-patch")
    {
        return Err(GlanceError(Error::bad_request(format!(
            "Unsupported Content-Type {ct:?} for PATCH: send application/openstack-images-v2.1-json-patch."
        ))));
    }
    let ops: Vec<Map<String, Value>> = parse_json(&body)?;
    let mut patch = Vec::new();
    for mut op in ops {
        let kind = string_field(&mut op, "op")?.unwrap_or_default();
        let path = string_field(&mut op, "path")?
            .ok_or_else(|| Error::bad_request("Each patch operation needs a 'path'."))?;
        let path = path
            .strip_prefix('/')
            .filter(|p| !p.is_empty() && !p.contains('/'))
            .ok_or_else(|| {
                Error::bad_request(format!("Invalid path {path:?}: it must be /<attribute>."))
            })?
            .replace("~1", "/")
            .replace("~0", "~");
        let value = op.remove("value");
        patch.push(match (kind.as_str(), value) {
            ("add", Some(v)) => Patch::Add(path, v),
            ("replace", Some(v)) => Patch::Replace(path, v),
            ("remove", _) => Patch::Remove(path),
            ("add" | "replace", None) => {
                return Err(GlanceError(Error::bad_request(format!(
                    "Operation {kind} on /{path} needs a 'value'."
                ))))
            }
            (other, _) => {
                return Err(GlanceError(Error::bad_request(format!(
                    "Unsupported patch operation {other:?}; use add, replace or remove."
                ))))
            }
        });
    }
    Ok(Json(view(
        &s.services.images.image_update(&ctx, &id, patch).await?,
    )))
}

async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<StatusCode> {
    s.services.images.image_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn upload(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> GResult<StatusCode> {
    s.services
        .images
        .image_upload(&ctx, &id, data_body(&headers, body)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A request body of image data as the service's upload stream (never buffered),
/// refused unless it is declared as bytes.
pub(crate) fn data_body(headers: &HeaderMap, body: Body) -> Result<UploadBody, Error> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.is_empty() && !ct.starts_with("application/octet-stream") {
        return Err(Error::bad_request(format!(
            "Unsupported Content-Type {ct:?} for image data: send application/octet-stream."
        )));
    }
    Ok(Box::pin(body.into_data_stream().map_err(|e| e.to_string())))
}

/// PUT /v2/images/{id}/stage: the data for a later glance-direct import.
async fn stage(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> GResult<StatusCode> {
    s.services
        .images
        .image_stage(&ctx, &id, data_body(&headers, body)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /v2/images/{id}/import: `{"method": {"name": "glance-direct"}}`; 202, the
/// work goes on in the background (GET /v2/images/{id}/tasks shows how it goes).
async fn import(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> GResult<StatusCode> {
    let m: Map<String, Value> = parse_json(&body)?;
    let method = m
        .get("method")
        .and_then(|v| v.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::bad_request(
                "The import request needs a method: {\"method\": {\"name\": \"glance-direct\"}}.",
            )
        })?;
    if m.get("stores")
        .is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        || m.get("all_stores").and_then(Value::as_bool) == Some(true)
    {
        return Err(Error::bad_request(
            "This cloud has one image store; leave out stores and all_stores.",
        )
        .into());
    }
    s.services.images.image_import(&ctx, &id, method).await?;
    Ok(StatusCode::ACCEPTED)
}

fn task_view(t: &ImageTask) -> Value {
    let result = (t.status == "success").then(|| json!({"image_id": t.image_id}));
    json!({
        "id": t.id, "type": "api_image_import", "status": t.status, "owner": t.owner,
        "image_id": t.image_id, "user_id": t.user_id, "request_id": t.request_id,
        "input": {"image_id": t.image_id, "import_req": {"method": {"name": t.method}}, "backend": null},
        "result": result, "message": t.message, "step": t.step, "progress": t.progress,
        "created_at": glance_time(&t.created_at), "updated_at": glance_time(&t.updated_at),
        "expires_at": null, "self": format!("/v2/tasks/{}", t.id), "schema": "/v2/schemas/task",
    })
}

async fn image_tasks(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<Json<Value>> {
    let tasks = s.services.images.image_tasks(&ctx, &id).await?;
    Ok(Json(
        json!({"tasks": tasks.iter().map(task_view).collect::<Vec<_>>()}),
    ))
}

async fn task_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<Json<Value>> {
    Ok(Json(task_view(
        &s.services.images.task_get(&ctx, &id).await?,
    )))
}

async fn import_info(Authed(_ctx): Authed) -> Json<Value> {
    Json(json!({"import-methods": {
        "description": "Import methods available.",
        "type": "array",
        "value": IMPORT_METHODS,
    }}))
}

/// Parse a single `bytes=a-b` range against `len`.
fn range(h: &str, len: u64) -> Option<(u64, u64)> {
    let spec = h.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.checked_sub(n.min(len))?, len.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, len.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(len.saturating_sub(1)),
        ),
    };
    (start <= end && end < len).then_some((start, end))
}

async fn download(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> GResult<Response> {
    let (img, path) = s.services.images.image_data(&ctx, &id).await?;
    let Some(path) = path else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let mut f = tokio::fs::File::open(&path)
        .await
        .map_err(|e| Error::internal(format!("image {id}: data file missing: {e}")))?;
    let len = f.metadata().await.map_err(Error::internal)?.len();
    let mut resp_headers = HeaderMap::new();
    resp_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    resp_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let (status, start, count) = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) => match range(r, len) {
            Some((a, b)) => {
                let cr = format!("bytes {a}-{b}/{len}");
                resp_headers.insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&cr).map_err(Error::internal)?,
                );
                (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
            }
            None => {
                let mut resp = (StatusCode::RANGE_NOT_SATISFIABLE, Json(json!({
                    "code": 416, "title": "Requested Range Not Satisfiable",
                    "message": format!("The range {r:?} is not within the image's {len} bytes."),
                })))
                    .into_response();
                resp.headers_mut().insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{len}")).map_err(Error::internal)?,
                );
                return Ok(resp);
            }
        },
        None => {
            if let Some(md5) = img
                .checksum
                .as_deref()
                .and_then(|c| HeaderValue::from_str(c).ok())
            {
                resp_headers.insert("content-md5", md5);
            }
            (StatusCode::OK, 0, len)
        }
    };
    f.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(Error::internal)?;
    resp_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        f.take(count),
        1024 * 1024,
    ));
    Ok((status, resp_headers, body).into_response())
}

fn core_schema() -> BTreeMap<&'static str, Value> {
    let s = |t: &str| json!({"type": t});
    let n = |t: &str| json!({"type": [t, "null"]});
    BTreeMap::from([
        (
            "id",
            json!({"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"}),
        ),
        ("name", n("string")),
        (
            "status",
            json!({"type": "string", "readOnly": true, "enum": ferrostack_image::status::SCHEMA_STATUSES}),
        ),
        (
            "visibility",
            json!({"type": "string", "enum": ferrostack_image::VISIBILITIES}),
        ),
        ("protected", s("boolean")),
        ("os_hidden", s("boolean")),
        (
            "checksum",
            json!({"type": ["string", "null"], "readOnly": true}),
        ),
        (
            "os_hash_algo",
            json!({"type": ["string", "null"], "readOnly": true}),
        ),
        (
            "os_hash_value",
            json!({"type": ["string", "null"], "readOnly": true}),
        ),
        ("owner", n("string")),
        (
            "size",
            json!({"type": ["integer", "null"], "readOnly": true}),
        ),
        (
            "virtual_size",
            json!({"type": ["integer", "null"], "readOnly": true}),
        ),
        ("min_ram", s("integer")),
        ("min_disk", s("integer")),
        (
            "disk_format",
            json!({"type": ["null", "string"], "enum": nullable(ferrostack_image::inspect::DISK_FORMATS)}),
        ),
        (
            "container_format",
            json!({"type": ["null", "string"], "enum": nullable(ferrostack_image::inspect::CONTAINER_FORMATS)}),
        ),
        (
            "tags",
            json!({"type": "array", "items": {"type": "string", "maxLength": 255}}),
        ),
        ("created_at", json!({"type": "string", "readOnly": true})),
        ("updated_at", json!({"type": "string", "readOnly": true})),
        ("self", json!({"type": "string", "readOnly": true})),
        ("file", json!({"type": "string", "readOnly": true})),
        ("schema", json!({"type": "string", "readOnly": true})),
    ])
}

fn image_schema() -> Value {
    json!({
        "name": "image",
        "properties": core_schema(),
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

async fn schema_image() -> Json<Value> {
    Json(image_schema())
}

async fn schema_images() -> Json<Value> {
    Json(json!({
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }))
}

fn member_view(m: &ImageMember) -> Value {
    json!({
        "image_id": m.image_id, "member_id": m.member_id, "status": m.status,
        "created_at": glance_time(&m.created_at), "updated_at": glance_time(&m.updated_at),
        "schema": "/v2/schemas/member",
    })
}

async fn members_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<Json<Value>> {
    let list = s.services.images.member_list(&ctx, &id).await?;
    Ok(Json(
        json!({"members": list.iter().map(member_view).collect::<Vec<_>>(), "schema": "/v2/schemas/members"}),
    ))
}

async fn member_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> GResult<Json<Value>> {
    let mut m: Map<String, Value> = parse_json(&body)?;
    let member = string_field(&mut m, "member")?
        .ok_or_else(|| Error::bad_request("The body needs 'member': a project id."))?;
    Ok(Json(member_view(
        &s.services.images.member_add(&ctx, &id, &member).await?,
    )))
}

async fn member_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, member)): Path<(String, String)>,
) -> GResult<Json<Value>> {
    Ok(Json(member_view(
        &s.services.images.member_get(&ctx, &id, &member).await?,
    )))
}

async fn member_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, member)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> GResult<Json<Value>> {
    let mut m: Map<String, Value> = parse_json(&body)?;
    let status = string_field(&mut m, "status")?.ok_or_else(|| {
        Error::bad_request("The body needs 'status': accepted, rejected or pending.")
    })?;
    Ok(Json(member_view(
        &s.services
            .images
            .member_update(&ctx, &id, &member, &status)
            .await?,
    )))
}

async fn member_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, member)): Path<(String, String)>,
) -> GResult<StatusCode> {
    s.services.images.member_delete(&ctx, &id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tag_put(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, tag)): Path<(String, String)>,
) -> GResult<StatusCode> {
    s.services.images.tag_add(&ctx, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tag_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((id, tag)): Path<(String, String)>,
) -> GResult<StatusCode> {
    s.services.images.tag_delete(&ctx, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn deactivate(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<StatusCode> {
    s.services.images.image_set_active(&ctx, &id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reactivate(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<StatusCode> {
    s.services.images.image_set_active(&ctx, &id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn schema_member() -> Json<Value> {
    Json(member_schema())
}

fn member_schema() -> Value {
    json!({
        "name": "member",
        "properties": {
            "image_id": {"type": "string"}, "member_id": {"type": "string"},
            "status": {"type": "string", "enum": ferrostack_image::MEMBER_STATUSES},
            "created_at": {"type": "string"}, "updated_at": {"type": "string"}, "schema": {"type": "string"},
        },
    })
}

async fn schema_members() -> Json<Value> {
    Json(
        json!({"name": "members", "properties": {"members": {"type": "array", "items": member_schema()}, "schema": {"type": "string"}}}),
    )
}

/// A schema enum that also allows null.
fn nullable(values: &[&str]) -> Vec<Value> {
    std::iter::once(Value::Null)
        .chain(values.iter().map(|v| Value::String(v.to_string())))
        .collect()
}
