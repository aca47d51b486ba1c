//! The every-endpoint fixture's identity and image definitions: a public metadefs
//! namespace, and the project and domain where rita inherits reader.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::*;

use super::id;

/// The public metadefs namespace the table reads (made by the admin): property p1,
/// object o1, tag t1, associated with OS::Glance::Image.
pub const METADEF_NS: &str = "fs-endpoints";

pub async fn metadef_world(api: &Api) {
    let base = format!("/image/v2/metadefs/namespaces/{METADEF_NS}");
    let calls = [
        (
            "/image/v2/metadefs/namespaces".to_string(),
            json!({"namespace": METADEF_NS, "visibility": "public"}),
        ),
        (
            format!("{base}/properties"),
            json!({"name": "p1", "title": "P1", "type": "string"}),
        ),
        (
            format!("{base}/objects"),
            json!({"name": "o1", "description": "one"}),
        ),
        (format!("{base}/tags/t1"), Value::Null),
        (
            format!("{base}/resource_types"),
            json!({"name": "OS::Glance::Image", "prefix": "fs_"}),
        ),
    ];
    for (path, body) in calls {
        let body = (!body.is_null()).then_some(body);
        let r = api.admin(Method::POST, &path, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.text);
    }
}

/// An empty project and an empty domain where rita inherits reader.
pub async fn inherit_world(api: &Api, rita: &str, reader: &str) -> (String, String) {
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/projects",
            Some(json!({"project": {"name": "inherits"}})),
        )
        .await;
    let project = id(&r, "project");
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/domains",
            Some(json!({"domain": {"name": "inherits"}})),
        )
        .await;
    let domain = id(&r, "domain");
    for (kind, target) in [("projects", &project), ("domains", &domain)] {
        let path = format!(
            "/identity/v3/OS-INHERIT/{kind}/{target}/users/{rita}/roles/{reader}/inherited_to_projects"
        );
        let r = api.admin(Method::PUT, &path, None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{path}: {}", r.text);
    }
    (project, domain)
}
