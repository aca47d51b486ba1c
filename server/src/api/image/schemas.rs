//! /v2/schemas/*: the JSON schemas clients read (enums from the service's own lists).

use super::prelude::*;

pub(crate) fn core_schema() -> BTreeMap<&'static str, Value> {
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
        // Shown where the operator turns show_image_direct_url / show_multiple_locations on.
        ("direct_url", json!({"type": "string", "readOnly": true})),
        (
            "locations",
            json!({"type": "array", "items": {"type": "object", "required": ["url", "metadata"],
                "properties": {"url": {"type": "string", "maxLength": 255}, "metadata": {"type": "object"}}}}),
        ),
    ])
}

pub(crate) fn image_schema() -> Value {
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

pub(crate) async fn schema_image() -> Json<Value> {
    Json(image_schema())
}

pub(crate) async fn schema_images() -> Json<Value> {
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

pub(crate) async fn schema_member() -> Json<Value> {
    Json(member_schema())
}

pub(crate) fn member_schema() -> Value {
    json!({
        "name": "member",
        "properties": {
            "image_id": {"type": "string"}, "member_id": {"type": "string"},
            "status": {"type": "string", "enum": ferrostack_image::MEMBER_STATUSES},
            "created_at": {"type": "string"}, "updated_at": {"type": "string"}, "schema": {"type": "string"},
        },
    })
}

pub(crate) fn task_schema() -> Value {
    let s = |t: &str| json!({"type": t});
    json!({
        "name": "task",
        "properties": {
            "id": {"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
            "type": {"type": "string", "enum": ["import", ferrostack_image::TASK_TYPE]},
            "status": {"type": "string", "enum": ["pending", "processing", "success", "failure"]},
            "input": {"type": ["null", "object"]}, "result": {"type": ["null", "object"]},
            "owner": s("string"), "message": s("string"), "image_id": s("string"),
            "request_id": s("string"), "user_id": s("string"),
            "expires_at": {"type": ["null", "string"]}, "created_at": s("string"),
            "updated_at": s("string"), "self": s("string"), "schema": s("string"),
        },
        "links": [{"rel": "self", "href": "{self}"}, {"rel": "describedby", "href": "{schema}"}],
    })
}

pub(crate) async fn schema_task() -> Json<Value> {
    Json(task_schema())
}

pub(crate) async fn schema_tasks() -> Json<Value> {
    Json(json!({
        "name": "tasks",
        "properties": {
            "tasks": {"type": "array", "items": task_schema()},
            "schema": {"type": "string"}, "first": {"type": "string"}, "next": {"type": "string"},
        },
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}],
    }))
}

pub(crate) async fn schema_members() -> Json<Value> {
    Json(
        json!({"name": "members", "properties": {"members": {"type": "array", "items": member_schema()}, "schema": {"type": "string"}}}),
    )
}

/// A schema enum that also allows null.
pub(crate) fn nullable(values: &[&str]) -> Vec<Value> {
    std::iter::once(Value::Null)
        .chain(values.iter().map(|v| Value::String(v.to_string())))
        .collect()
}

/// The metadefs schemas (`/v2/schemas/metadefs/...`), as clients read them to know
/// the fields.
pub(crate) fn metadef_schema_routes(r: crate::api::table::Routes) -> crate::api::table::Routes {
    use crate::api::table::Access::Public;
    r.get("/v2/schemas/metadefs/namespace", Public, || async {
        Json(metadef_namespace_schema())
    })
    .get("/v2/schemas/metadefs/namespaces", Public, || async {
        Json(metadef_list_schema(
            "namespaces",
            metadef_namespace_schema(),
        ))
    })
    .get("/v2/schemas/metadefs/property", Public, || async {
        Json(metadef_property_schema())
    })
    .get("/v2/schemas/metadefs/properties", Public, || async {
        Json(json!({"name": "properties", "properties": {"properties": {
                "type": "object", "additionalProperties": metadef_property_schema()}}}))
    })
    .get("/v2/schemas/metadefs/object", Public, || async {
        Json(metadef_object_schema())
    })
    .get("/v2/schemas/metadefs/objects", Public, || async {
        Json(metadef_list_schema("objects", metadef_object_schema()))
    })
    .get("/v2/schemas/metadefs/tag", Public, || async {
        Json(metadef_tag_schema())
    })
    .get("/v2/schemas/metadefs/tags", Public, || async {
        Json(metadef_list_schema("tags", metadef_tag_schema()))
    })
    .get("/v2/schemas/metadefs/resource_type", Public, || async {
        Json(metadef_resource_type_schema())
    })
    .get("/v2/schemas/metadefs/resource_types", Public, || async {
        Json(metadef_list_schema(
            "resource_type_associations",
            metadef_resource_type_schema(),
        ))
    })
}

fn metadef_list_schema(name: &str, item: Value) -> Value {
    json!({
        "name": name,
        "properties": {
            name: {"type": "array", "items": item},
            "first": {"type": "string"}, "next": {"type": "string"}, "schema": {"type": "string"},
        },
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}],
    })
}

fn metadef_namespace_schema() -> Value {
    json!({
        "name": "namespace", "additionalProperties": false, "required": ["namespace"],
        "properties": {
            "namespace": {"type": "string", "maxLength": 80},
            "display_name": {"type": "string", "maxLength": 80},
            "description": {"type": "string", "maxLength": 500},
            "visibility": {"type": "string", "enum": ["public", "private"]},
            "protected": {"type": "boolean"},
            "owner": {"type": "string", "maxLength": 255},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "schema": {"type": "string", "readOnly": true}, "self": {"type": "string", "readOnly": true},
            "resource_type_associations": {"type": "array", "items": metadef_resource_type_schema()},
            "properties": {"type": "object", "additionalProperties": metadef_property_schema()},
            "objects": {"type": "array", "items": metadef_object_schema()},
            "tags": {"type": "array", "items": metadef_tag_schema()},
        },
        "links": [{"rel": "self", "href": "{self}"}, {"rel": "describedby", "href": "{schema}"}],
    })
}

fn metadef_property_schema() -> Value {
    json!({
        "name": "property", "required": ["name", "title", "type"],
        "properties": {
            "name": {"type": "string", "maxLength": 80},
            "title": {"type": "string"}, "description": {"type": "string"},
            "type": {"type": "string", "enum": ferrostack_image::metadefs::PROPERTY_TYPES},
            "enum": {"type": "array"}, "default": {}, "readonly": {"type": "boolean"},
            "operators": {"type": "array", "items": {"type": "string"}},
            "minimum": {"type": "number"}, "maximum": {"type": "number"},
            "minLength": {"type": "integer"}, "maxLength": {"type": "integer"},
            "pattern": {"type": "string"}, "items": {"type": "object"},
        },
    })
}

fn metadef_object_schema() -> Value {
    json!({
        "name": "object", "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 80},
            "description": {"type": "string"},
            "required": {"type": "array", "items": {"type": "string"}},
            "properties": {"type": "object", "additionalProperties": metadef_property_schema()},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "schema": {"type": "string", "readOnly": true}, "self": {"type": "string", "readOnly": true},
        },
        "links": [{"rel": "self", "href": "{self}"}, {"rel": "describedby", "href": "{schema}"}],
    })
}

fn metadef_tag_schema() -> Value {
    json!({
        "name": "tag", "required": ["name"], "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "maxLength": 80},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    })
}

fn metadef_resource_type_schema() -> Value {
    json!({
        "name": "resource_type_association", "required": ["name"], "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "maxLength": 80},
            "prefix": {"type": "string", "maxLength": 80},
            "properties_target": {"type": "string", "maxLength": 80},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    })
}
