//! Interoperable import: POST .../import, the import tasks, /v2/info/import.

use super::prelude::*;

/// POST /v2/images/{id}/import: `{"method": {"name": "glance-direct"}}`; 202, the
/// work goes on in the background (GET /v2/images/{id}/tasks shows how it goes).
pub(crate) async fn import(
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
    check_stores(&m)?;
    s.services.images.image_import(&ctx, &id, method).await?;
    Ok(StatusCode::ACCEPTED)
}

pub(crate) fn task_view(t: &ImageTask) -> Value {
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

pub(crate) async fn image_tasks(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<Json<Value>> {
    let tasks = s.services.images.image_tasks(&ctx, &id).await?;
    Ok(Json(
        json!({"tasks": tasks.iter().map(task_view).collect::<Vec<_>>()}),
    ))
}

/// GET /v2/tasks: a page of tasks (filters `status`, `type`; `sort_key`, `sort_dir`,
/// `limit`, `marker`), summaries without `input` and `result`, as Glance lists them.
pub(crate) async fn task_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(raw): RawQuery,
) -> GResult<Json<Value>> {
    let pairs = Filters::pairs(raw.as_deref());
    let (paging, filters) = Paging::take(&pairs, "created_at")?;
    let mut q = ferrostack_image::TaskQuery {
        limit: paging.limit,
        marker: paging.marker.clone(),
        sort: paging.sort.clone(),
        ..Default::default()
    };
    for (k, v) in filters {
        match k.as_str() {
            "status" => q.status = Some(v),
            "type" => q.task_type = Some(v),
            other => {
                return Err(Error::bad_request(format!(
                    "Invalid filter {other:?}: tasks are filtered by status and type."
                ))
                .into())
            }
        }
    }
    let (tasks, more) = s.services.images.task_list(&ctx, q).await?;
    let summary = |t: &ImageTask| {
        let mut v = task_view(t);
        if let Some(o) = v.as_object_mut() {
            o.remove("input");
            o.remove("result");
        }
        v
    };
    let mut body = json!({
        "tasks": tasks.iter().map(summary).collect::<Vec<_>>(),
        "first": "/v2/tasks",
        "schema": "/v2/schemas/tasks",
    });
    if more {
        if let Some(last) = tasks.last() {
            body["next"] = Value::String(paging.next_link("/v2/tasks", &pairs, &last.id));
        }
    }
    Ok(Json(body))
}

/// POST /v2/tasks: Glance's legacy import tasks fetch from a URL; this cloud offers
/// the interoperable import instead (and no `web-download`), and says so.
pub(crate) async fn task_create(Authed(_ctx): Authed) -> GResult<StatusCode> {
    Err(Error::forbidden(
        "Creating tasks is not offered: import an image with PUT /v2/images/{id}/stage and \
         POST /v2/images/{id}/import (method glance-direct); its task then appears here.",
    )
    .into())
}

pub(crate) async fn task_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> GResult<Json<Value>> {
    Ok(Json(task_view(
        &s.services.images.task_get(&ctx, &id).await?,
    )))
}

/// The one image store this cloud has, as Glance's multi-store names stores.
pub(crate) const STORE_ID: &str = ferrostack_image::STORE;

/// `stores` and `all_stores` on import: the one store (or all of them, which is the
/// same) is accepted; another store is refused naming the one there is.
fn check_stores(m: &Map<String, Value>) -> Result<(), Error> {
    match m.get("stores") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            if let Some(other) = a.iter().find(|v| v.as_str() != Some(STORE_ID)) {
                return Err(Error::bad_request(format!(
                    "Unknown store {other}: this cloud has one image store, {STORE_ID:?}."
                )));
            }
        }
        Some(other) => {
            return Err(Error::bad_request(format!(
                "Invalid stores {other}: a list of store ids is expected."
            )))
        }
    }
    for flag in ["all_stores", "all_stores_must_succeed"] {
        if let Some(v) = m.get(flag).filter(|v| !v.is_boolean() && !v.is_null()) {
            return Err(Error::bad_request(format!(
                "Invalid {flag} {v}: true or false is expected."
            )));
        }
    }
    Ok(())
}

/// GET /v2/info/stores: the one store, the default.
pub(crate) async fn stores_info(Authed(_ctx): Authed) -> Json<Value> {
    Json(
        json!({"stores": [{"id": STORE_ID, "description": "This cloud's image store.", "default": true}]}),
    )
}

pub(crate) async fn import_info(Authed(_ctx): Authed) -> Json<Value> {
    Json(json!({"import-methods": {
        "description": "Import methods available.",
        "type": "array",
        "value": IMPORT_METHODS,
    }}))
}
