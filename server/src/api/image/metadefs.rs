//! /v2/metadefs: metadata definition namespaces, their properties, objects, tags and
//! resource type associations, and their schemas. Each handler calls one image-service
//! function (crates/image/src/metadefs.rs) and renders Glance's JSON.

use ferrostack_image::metadefs::{Association, Item, ItemKind, Namespace, NamespaceIn};
use serde::Deserialize;

use super::metadef_tags as tags;
use super::prelude::*;
use crate::api::table::{Access::*, Routes};

const NS: &str = "/v2/metadefs/namespaces/{ns}";

pub fn routes() -> Routes {
    let r = Routes::new()
        .get("/v2/metadefs/namespaces", Token, ns_list)
        .post("/v2/metadefs/namespaces", Admin, ns_create)
        .get(NS, Token, ns_show)
        .put(NS, Admin, ns_update)
        .delete(NS, Admin, ns_delete)
        .get("/v2/metadefs/resource_types", Token, rt_list)
        .get(
            "/v2/metadefs/namespaces/{ns}/resource_types",
            Token,
            assoc_list,
        )
        .post(
            "/v2/metadefs/namespaces/{ns}/resource_types",
            Admin,
            assoc_create,
        )
        .delete(
            "/v2/metadefs/namespaces/{ns}/resource_types/{name}",
            Admin,
            assoc_delete,
        )
        .get("/v2/metadefs/namespaces/{ns}/properties", Token, prop_list)
        .post(
            "/v2/metadefs/namespaces/{ns}/properties",
            Admin,
            prop_create,
        )
        .delete("/v2/metadefs/namespaces/{ns}/properties", Admin, prop_clear)
        .get(
            "/v2/metadefs/namespaces/{ns}/properties/{name}",
            Token,
            prop_show,
        )
        .put(
            "/v2/metadefs/namespaces/{ns}/properties/{name}",
            Admin,
            prop_update,
        )
        .delete(
            "/v2/metadefs/namespaces/{ns}/properties/{name}",
            Admin,
            prop_delete,
        )
        .get("/v2/metadefs/namespaces/{ns}/objects", Token, obj_list)
        .post("/v2/metadefs/namespaces/{ns}/objects", Admin, obj_create)
        .delete("/v2/metadefs/namespaces/{ns}/objects", Admin, obj_clear)
        .get(
            "/v2/metadefs/namespaces/{ns}/objects/{name}",
            Token,
            obj_show,
        )
        .put(
            "/v2/metadefs/namespaces/{ns}/objects/{name}",
            Admin,
            obj_update,
        )
        .delete(
            "/v2/metadefs/namespaces/{ns}/objects/{name}",
            Admin,
            obj_delete,
        )
        .get("/v2/metadefs/namespaces/{ns}/tags", Token, tags::tag_list)
        .post(
            "/v2/metadefs/namespaces/{ns}/tags",
            Admin,
            tags::tags_create,
        )
        .delete("/v2/metadefs/namespaces/{ns}/tags", Admin, tags::tag_clear)
        .get(
            "/v2/metadefs/namespaces/{ns}/tags/{name}",
            Token,
            tags::tag_show,
        )
        .post(
            "/v2/metadefs/namespaces/{ns}/tags/{name}",
            Admin,
            tags::tag_create,
        )
        .put(
            "/v2/metadefs/namespaces/{ns}/tags/{name}",
            Admin,
            tags::tag_update,
        )
        .delete(
            "/v2/metadefs/namespaces/{ns}/tags/{name}",
            Admin,
            tags::tag_delete,
        );
    super::schemas::metadef_schema_routes(r)
}

fn ns_view(n: &Namespace, assocs: &[Association]) -> Value {
    let mut v = json!({
        "namespace": n.namespace, "display_name": n.display_name, "description": n.description,
        "visibility": n.visibility, "protected": n.protected, "owner": n.owner,
        "created_at": glance_time(&n.created_at), "updated_at": glance_time(&n.updated_at),
        "self": format!("/v2/metadefs/namespaces/{}", n.namespace),
        "schema": "/v2/schemas/metadefs/namespace",
    });
    if !assocs.is_empty() {
        v["resource_type_associations"] = assocs.iter().map(assoc_view).collect();
    }
    v
}

fn assoc_view(a: &Association) -> Value {
    let mut v = json!({
        "name": a.name, "created_at": glance_time(&a.created_at),
        "updated_at": glance_time(&a.updated_at),
    });
    if let Some(p) = &a.prefix {
        v["prefix"] = json!(p);
    }
    if let Some(t) = &a.properties_target {
        v["properties_target"] = json!(t);
    }
    v
}

fn prop_view(i: &Item) -> Value {
    let mut v = Value::Object(i.body.clone());
    v["name"] = json!(i.name);
    v
}

fn obj_view(ns: &str, i: &Item) -> Value {
    let mut v = Value::Object(i.body.clone());
    v["name"] = json!(i.name);
    for (k, d) in [("properties", json!({})), ("required", json!([]))] {
        if v.get(k).is_none_or(Value::is_null) {
            v[k] = d;
        }
    }
    v["created_at"] = json!(glance_time(&i.created_at));
    v["updated_at"] = json!(glance_time(&i.updated_at));
    v["self"] = json!(format!("/v2/metadefs/namespaces/{ns}/objects/{}", i.name));
    v["schema"] = json!("/v2/schemas/metadefs/object");
    v
}

pub(super) fn tag_view(i: &Item) -> Value {
    json!({"name": i.name, "created_at": glance_time(&i.created_at), "updated_at": glance_time(&i.updated_at)})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NsIn {
    namespace: Option<String>,
    display_name: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
    protected: Option<bool>,
    owner: Option<String>,
    // Accepted only empty: definitions are made by their own calls.
    properties: Option<Map<String, Value>>,
    objects: Option<Vec<Value>>,
    tags: Option<Vec<Value>>,
    resource_type_associations: Option<Vec<Value>>,
    // Read-only fields clients echo back on PUT.
    #[serde(rename = "self")]
    _self: Option<Value>,
    schema: Option<Value>,
    created_at: Option<Value>,
    updated_at: Option<Value>,
}

impl NsIn {
    fn into_in(self, current: Option<&str>) -> Result<NamespaceIn, Error> {
        let inline = self.properties.is_some_and(|p| !p.is_empty())
            || self.objects.is_some_and(|o| !o.is_empty())
            || self.tags.is_some_and(|t| !t.is_empty())
            || self
                .resource_type_associations
                .is_some_and(|a| !a.is_empty());
        if inline {
            return Err(Error::bad_request(
                "Give a namespace's properties, objects, tags and resource types with their own calls \
                 (POST .../properties, .../objects, .../tags, .../resource_types), not inside the namespace.",
            ));
        }
        let _ = (self.schema, self.created_at, self.updated_at);
        let namespace = match (self.namespace, current) {
            (Some(n), _) => n,
            (None, Some(c)) => c.to_string(),
            (None, None) => {
                return Err(Error::bad_request(
                    "Invalid input: 'namespace' is a required property.",
                ))
            }
        };
        Ok(NamespaceIn {
            namespace,
            display_name: self.display_name,
            description: self.description,
            visibility: self.visibility,
            protected: self.protected,
            owner: self.owner,
        })
    }
}

async fn ns_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    RawQuery(raw): RawQuery,
) -> GResult<Json<Value>> {
    let pairs = Filters::pairs(raw.as_deref());
    let (mut visibility, mut resource_type, mut marker, mut limit) = (None, None, None, None);
    for (k, v) in &pairs {
        match k.as_str() {
            "visibility" => visibility = Some(v.clone()),
            "resource_types" => resource_type = Some(v.clone()),
            "marker" => marker = Some(v.clone()),
            "limit" => {
                limit = Some(v.parse::<usize>().map_err(|_| {
                    Error::bad_request(format!("Invalid limit {v:?}: a whole number is expected."))
                })?)
            }
            // Namespaces are listed by name, ascending (the order markers page in).
            "sort_key" | "sort_dir" if v == "namespace" || v == "asc" => {}
            "sort_key" | "sort_dir" => {
                return Err(Error::bad_request(format!(
                    "Invalid {k} {v:?}: namespaces are listed by namespace, ascending."
                ))
                .into())
            }
            other => {
                return Err(Error::bad_request(format!(
                    "Invalid filter {other:?}: namespaces are filtered by visibility and resource_types."
                ))
                .into())
            }
        }
    }
    let limit = ferrostack_core::list::limit(limit);
    let (list, more) = s
        .services
        .images
        .metadef_namespaces(
            &ctx,
            visibility.as_deref(),
            resource_type.as_deref(),
            marker.as_deref(),
            limit,
        )
        .await?;
    let mut out = Vec::with_capacity(list.len());
    for n in &list {
        let a = s
            .services
            .images
            .metadef_associations(&ctx, &n.namespace)
            .await?;
        out.push(ns_view(n, &a));
    }
    let mut body = json!({
        "namespaces": out, "first": "/v2/metadefs/namespaces",
        "schema": "/v2/schemas/metadefs/namespaces",
    });
    if more {
        if let Some(last) = list.last() {
            let paging = crate::api::paging::Paging {
                limit: Some(limit),
                ..Default::default()
            };
            body["next"] =
                json!(paging.next_link("/v2/metadefs/namespaces", &pairs, &last.namespace));
        }
    }
    Ok(Json(body))
}

async fn ns_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    body: axum::body::Bytes,
) -> GResult<(StatusCode, Json<Value>)> {
    let n = parse_json::<NsIn>(&body)?.into_in(None)?;
    let n = s.services.images.metadef_namespace_create(&ctx, n).await?;
    Ok((StatusCode::CREATED, Json(ns_view(&n, &[]))))
}

/// The namespace with its definitions (properties, objects, tags) inside, as Glance
/// shows one.
async fn ns_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
) -> GResult<Json<Value>> {
    let img = &s.services.images;
    let n = img.metadef_namespace(&ctx, &ns).await?;
    let mut v = ns_view(&n, &img.metadef_associations(&ctx, &ns).await?);
    let props = img.metadef_items(&ctx, &ns, ItemKind::Property).await?;
    if !props.is_empty() {
        v["properties"] = props
            .iter()
            .map(|p| (p.name.clone(), Value::Object(p.body.clone())))
            .collect::<Map<_, _>>()
            .into();
    }
    let objs = img.metadef_items(&ctx, &ns, ItemKind::Object).await?;
    if !objs.is_empty() {
        v["objects"] = objs.iter().map(|o| obj_view(&ns, o)).collect();
    }
    let tags = img.metadef_items(&ctx, &ns, ItemKind::Tag).await?;
    if !tags.is_empty() {
        v["tags"] = tags.iter().map(|t| json!({"name": t.name})).collect();
    }
    Ok(Json(v))
}

async fn ns_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
    body: axum::body::Bytes,
) -> GResult<Json<Value>> {
    let n = parse_json::<NsIn>(&body)?.into_in(Some(&ns))?;
    let n = s
        .services
        .images
        .metadef_namespace_update(&ctx, &ns, n)
        .await?;
    let a = s
        .services
        .images
        .metadef_associations(&ctx, &n.namespace)
        .await?;
    Ok(Json(ns_view(&n, &a)))
}

async fn ns_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
) -> GResult<StatusCode> {
    s.services
        .images
        .metadef_namespace_delete(&ctx, &ns)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rt_list(State(s): State<AppState>, Authed(_ctx): Authed) -> GResult<Json<Value>> {
    let list = s.services.images.metadef_resource_types().await?;
    Ok(Json(
        json!({"resource_types": list.iter().map(|(n, c, u)| json!({
        "name": n, "created_at": glance_time(c), "updated_at": glance_time(u),
    })).collect::<Vec<_>>()}),
    ))
}

async fn assoc_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
) -> GResult<Json<Value>> {
    let a = s.services.images.metadef_associations(&ctx, &ns).await?;
    Ok(Json(
        json!({"resource_type_associations": a.iter().map(assoc_view).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssocIn {
    name: String,
    prefix: Option<String>,
    properties_target: Option<String>,
    created_at: Option<Value>,
    updated_at: Option<Value>,
}

async fn assoc_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
    body: axum::body::Bytes,
) -> GResult<(StatusCode, Json<Value>)> {
    let a: AssocIn = parse_json(&body)?;
    let _ = (a.created_at, a.updated_at);
    let a = Association {
        name: a.name,
        prefix: a.prefix,
        properties_target: a.properties_target,
        created_at: String::new(),
        updated_at: String::new(),
    };
    let a = s.services.images.metadef_associate(&ctx, &ns, a).await?;
    Ok((StatusCode::CREATED, Json(assoc_view(&a))))
}

async fn assoc_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
) -> GResult<StatusCode> {
    s.services
        .images
        .metadef_dissociate(&ctx, &ns, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A definition body: its `name` taken out, read-only fields dropped.
fn item_body(body: &[u8]) -> Result<(Option<String>, Map<String, Value>), Error> {
    let mut m: Map<String, Value> = parse_json(body)?;
    let name = match m.remove("name") {
        None => None,
        Some(Value::String(n)) => Some(n),
        Some(other) => {
            return Err(Error::bad_request(format!(
                "Invalid input for field 'name': {other} is not a string."
            )))
        }
    };
    for k in ["self", "schema", "created_at", "updated_at"] {
        m.remove(k);
    }
    Ok((name, m))
}

pub(super) async fn items_put(
    s: &AppState,
    ctx: &ferrostack_core::Ctx,
    ns: &str,
    kind: ItemKind,
    replace: Option<&str>,
    body: &[u8],
) -> Result<Item, Error> {
    let (name, m) = if kind == ItemKind::Tag {
        let (n, _) = if body.iter().all(u8::is_ascii_whitespace) {
            (None, Map::new())
        } else {
            item_body(body)?
        };
        (n, Map::new())
    } else {
        item_body(body)?
    };
    let name = name
        .or_else(|| replace.map(String::from))
        .ok_or_else(|| Error::bad_request("Invalid input: 'name' is a required property."))?;
    s.services
        .images
        .metadef_item_put(ctx, ns, kind, replace, &name, m)
        .await
}

async fn prop_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
) -> GResult<Json<Value>> {
    let list = s
        .services
        .images
        .metadef_items(&ctx, &ns, ItemKind::Property)
        .await?;
    let props: Map<String, Value> = list
        .iter()
        .map(|p| (p.name.clone(), Value::Object(p.body.clone())))
        .collect();
    Ok(Json(json!({"properties": props})))
}

async fn prop_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
    body: axum::body::Bytes,
) -> GResult<(StatusCode, Json<Value>)> {
    let i = items_put(&s, &ctx, &ns, ItemKind::Property, None, &body).await?;
    Ok((StatusCode::CREATED, Json(prop_view(&i))))
}

async fn prop_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
) -> GResult<Json<Value>> {
    let i = s
        .services
        .images
        .metadef_item(&ctx, &ns, ItemKind::Property, &name)
        .await?;
    Ok(Json(prop_view(&i)))
}

async fn prop_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> GResult<Json<Value>> {
    let i = items_put(&s, &ctx, &ns, ItemKind::Property, Some(&name), &body).await?;
    Ok(Json(prop_view(&i)))
}

pub(super) async fn item_delete(
    s: &AppState,
    ctx: &ferrostack_core::Ctx,
    ns: &str,
    kind: ItemKind,
    name: Option<&str>,
) -> GResult<StatusCode> {
    s.services
        .images
        .metadef_item_delete(ctx, ns, kind, name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn prop_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
) -> GResult<StatusCode> {
    item_delete(&s, &ctx, &ns, ItemKind::Property, Some(&name)).await
}

async fn prop_clear(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
) -> GResult<StatusCode> {
    item_delete(&s, &ctx, &ns, ItemKind::Property, None).await
}

async fn obj_list(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
) -> GResult<Json<Value>> {
    let list = s
        .services
        .images
        .metadef_items(&ctx, &ns, ItemKind::Object)
        .await?;
    Ok(Json(json!({
        "objects": list.iter().map(|o| obj_view(&ns, o)).collect::<Vec<_>>(),
        "schema": "v2/schemas/metadefs/objects",
    })))
}

async fn obj_create(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
    body: axum::body::Bytes,
) -> GResult<(StatusCode, Json<Value>)> {
    let i = items_put(&s, &ctx, &ns, ItemKind::Object, None, &body).await?;
    Ok((StatusCode::CREATED, Json(obj_view(&ns, &i))))
}

async fn obj_show(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
) -> GResult<Json<Value>> {
    let i = s
        .services
        .images
        .metadef_item(&ctx, &ns, ItemKind::Object, &name)
        .await?;
    Ok(Json(obj_view(&ns, &i)))
}

async fn obj_update(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> GResult<Json<Value>> {
    let i = items_put(&s, &ctx, &ns, ItemKind::Object, Some(&name), &body).await?;
    Ok(Json(obj_view(&ns, &i)))
}

async fn obj_delete(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path((ns, name)): Path<(String, String)>,
) -> GResult<StatusCode> {
    item_delete(&s, &ctx, &ns, ItemKind::Object, Some(&name)).await
}

async fn obj_clear(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(ns): Path<String>,
) -> GResult<StatusCode> {
    item_delete(&s, &ctx, &ns, ItemKind::Object, None).await
}
