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

pub(crate) async fn import_info(Authed(_ctx): Authed) -> Json<Value> {
    Json(json!({"import-methods": {
        "description": "Import methods available.",
        "type": "array",
        "value": IMPORT_METHODS,
    }}))
}
