//! /v2/images: create, show, list (filters, sort, marker paging), JSON-patch update,
//! delete, and the image's JSON view.

use super::prelude::*;

pub(crate) fn glance_time(t: &str) -> String {
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

/// An image as `ctx` sees it: `view`, with `locations` and `direct_url` where the
/// image service shows them to this caller.
fn view_for(s: &AppState, ctx: &Ctx, i: &Image) -> Value {
    let mut v = view(i);
    let images = &s.services.images;
    if let Some(locs) = images.locations(ctx, i) {
        v["locations"] = json!(locs);
    }
    if let Some(url) = images.direct_url(ctx, i) {
        v["direct_url"] = Value::String(url);
    }
    v
}

pub(crate) fn string_field(m: &mut Map<String, Value>, key: &str) -> Result<Option<String>, Error> {
    match m.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Error::bad_request(format!(
            "Invalid input for field '{key}': {other} is not a string."
        ))),
    }
}

pub(crate) fn bool_field(m: &mut Map<String, Value>, key: &str) -> Result<bool, Error> {
    match m.remove(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(other) => Err(Error::bad_request(format!(
            "Invalid input for field '{key}': {other} is not true or false."
        ))),
    }
}

pub(crate) fn int_field(m: &mut Map<String, Value>, key: &str) -> Result<i64, Error> {
    match m.remove(key) {
        None => Ok(0),
        Some(v) => v.as_i64().ok_or_else(|| {
            Error::bad_request(format!(
                "Invalid input for field '{key}': {v} is not a whole number."
            ))
        }),
    }
}

pub(crate) async fn create(
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
        owner: string_field(&mut m, "owner")?,
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
    let mut resp = (StatusCode::CREATED, Json(view_for(&s, &ctx, &img))).into_response();
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

pub(crate) async fn show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<Json<Value>> {
    let img = s.services.images.image_get(&ctx, &id).await?;
    Ok(Json(view_for(&s, &ctx, &img)))
}

pub(crate) async fn list(
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
            "member_status" => q.member_status = Some(v.clone()),
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
        "images": images.iter().map(|i| view_for(&s, &ctx, i)).collect::<Vec<_>>(),
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

pub(crate) async fn update(
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
        let (kind, path) = match string_field(&mut op, "op")? {
            Some(kind) => {
                let path = string_field(&mut op, "path")?
                    .ok_or_else(|| Error::bad_request("Each patch operation needs a 'path'."))?;
                (kind, path)
            }
            // The older form (Glance's v2.0 patch) clients still send: the operation's
            // name is the key and the path its value, `{"replace": "/name", "value": …}`.
            None => {
                let kind = ["add", "replace", "remove"]
                    .into_iter()
                    .find(|k| op.contains_key(*k))
                    .ok_or_else(|| {
                        Error::bad_request(
                            "Each patch operation needs an 'op' (add, replace or remove) and a 'path'.",
                        )
                    })?;
                let path = string_field(&mut op, kind)?.ok_or_else(|| {
                    Error::bad_request(format!("Operation {kind} needs a path such as \"/name\"."))
                })?;
                (kind.to_string(), path)
            }
        };
        let path = path
            .strip_prefix('/')
            // One attribute, or one entry of the locations list (`/locations/-`).
            .filter(|p| {
                !p.is_empty()
                    && (!p.contains('/')
                        || p.strip_prefix("locations/")
                            .is_some_and(|i| !i.is_empty() && !i.contains('/')))
            })
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
    let img = s.services.images.image_update(&ctx, &id, patch).await?;
    Ok(Json(view_for(&s, &ctx, &img)))
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<StatusCode> {
    s.services.images.image_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
