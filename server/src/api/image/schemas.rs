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
