//! The every-endpoint test. It walks the endpoint table the application is built from
//! (server/src/api/table.rs: every REST route, the console's routes and every console
//! server function, each with its access class) and calls each entry as five callers:
//! no credentials, a forged token (or session), a reader of the project that owns the
//! resource, a member of another project, and a member of a project the resource is
//! shared with (which may see it but never change it). Each class promises what each caller
//! gets (see `expect`); a route added without joining the table, a server function the
//! table does not name, or a path parameter the fixture cannot fill fails the test.

mod common;

use std::collections::{BTreeSet, HashMap};

use axum::http::{Method, StatusCode};
use common::*;
use ferrostack_types::access::Access;
use serde_json::{json, Value};
use server::api::table::Endpoint;

const PW: &str = "pw-endpoints-1";

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Forged,
    /// `rita`, holding `reader` on project alpha, which owns the resources.
    Reader,
    /// `bob`, a member of project beta.
    Other,
    /// `cara`, a member of project gamma, with which alpha's image is shared: it sees
    /// the image but must not change it.
    Shared,
}

/// What the caller must get.
#[derive(Debug)]
enum Expect {
    /// Let through by policy: not 401, 403 or 404, and never a 5xx.
    Allowed,
    /// Refused with one of these statuses.
    Refused(&'static [u16]),
}

fn expect(access: Access, caller: Caller) -> Option<Expect> {
    use Access::*;
    use Caller::*;
    use Expect::*;
    Some(match (caller, access) {
        (_, Public) => Allowed,
        (Anonymous | Forged, _) => Refused(&[401]),
        (Reader, Token | ProjectRead | UserSelf) => Allowed,
        (Reader, Create | ProjectWrite | Admin) => Refused(&[403]),
        (Other, Token | Create) => Allowed,
        (Other, ProjectRead | ProjectWrite | UserSelf) => Refused(&[403, 404]),
        // Another project's resource is not even there for it.
        (Other, Admin) => Refused(&[403, 404]),
        (Shared, Token | Create) => Allowed,
        (Shared, ProjectWrite | Admin) => Refused(&[403, 404]),
        // What a member of a sharing project may read depends on the route (the image
        // yes, its tasks no): only "never a 5xx" is asked of it.
        (Shared, ProjectRead | UserSelf) => return None,
    })
}

/// What the fixture made, to fill paths and bodies with.
struct World {
    alpha: String,
    gamma: String,
    rita: String,
    group: String,
    reader_role: String,
    member_role: String,
    service: String,
    endpoint: String,
    /// alpha's private image, shared with gamma.
    image: String,
    /// gamma's image, shared with alpha (alpha decides on it).
    shared_in: String,
    /// An import task of an alpha image.
    task: String,
    /// rita's application credentials: one for the REST delete, one for the console's.
    cred: String,
    cred2: String,
}

fn id(r: &Reply, key: &str) -> String {
    r.body[key]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{key} id in {}", r.text))
        .to_string()
}

async fn user(api: &Api, name: &str, project: &str, role: &str) -> String {
    let u = api
        .admin(
            Method::POST,
            "/identity/v3/users",
            Some(json!({"user": {"name": name, "password": PW}})),
        )
        .await;
    let uid = id(&u, "user");
    let r = api
        .admin(
            Method::PUT,
            &format!("/identity/v3/projects/{project}/users/{uid}/roles/{role}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    uid
}

async fn image(api: &Api, token: &str, name: &str) -> String {
    let r = api
        .call(
            Method::POST,
            "/image/v2/images",
            Some(token),
            Some(json!({"name": name, "disk_format": "raw", "container_format": "bare", "tags": ["t1"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

async fn share(api: &Api, token: &str, image: &str, with: &str) {
    let r = api
        .call(
            Method::POST,
            &format!("/image/v2/images/{image}/members"),
            Some(token),
            Some(json!({"member": with})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn world(api: &Api) -> World {
    let project = |name: &str| {
        let name = name.to_string();
        async move {
            let r = api
                .admin(
                    Method::POST,
                    "/identity/v3/projects",
                    Some(json!({"project": {"name": name}})),
                )
                .await;
            id(&r, "project")
        }
    };
    let (alpha, beta, gamma) = (
        project("alpha").await,
        project("beta").await,
        project("gamma").await,
    );
    let role = |name: &'static str| async move {
        let r = api
            .admin(
                Method::GET,
                &format!("/identity/v3/roles?name={name}"),
                None,
            )
            .await;
        r.body["roles"][0]["id"].as_str().unwrap().to_string()
    };
    let (reader_role, member_role) = (role("reader").await, role("member").await);
    let rita = user(api, "rita", &alpha, &reader_role).await;
    // Grants and a group of rita's own, so that checking them answers yes.
    for path in [
        format!("/identity/v3/domains/default/users/{rita}/roles/{reader_role}"),
        format!("/identity/v3/system/users/{rita}/roles/{reader_role}"),
    ] {
        let r = api.admin(Method::PUT, &path, None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{path}: {}", r.text);
    }
    user(api, "mia", &alpha, &member_role).await;
    user(api, "bob", &beta, &member_role).await;
    user(api, "cara", &gamma, &member_role).await;
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/groups",
            Some(json!({"group": {"name": "g"}})),
        )
        .await;
    let group = id(&r, "group");
    let r = api
        .admin(
            Method::PUT,
            &format!("/identity/v3/groups/{group}/users/{rita}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = api.admin(Method::GET, "/identity/v3/services", None).await;
    let service = r.body["services"][0]["id"].as_str().unwrap().to_string();
    let r = api.admin(Method::GET, "/identity/v3/endpoints", None).await;
    let endpoint = r.body["endpoints"][0]["id"].as_str().unwrap().to_string();

    let mia = api.login("mia", PW, "alpha").await;
    let cara = api.login("cara", PW, "gamma").await;
    let image_a = image(api, &mia, "alpha-private").await;
    share(api, &mia, &image_a, &gamma).await;
    let shared_in = image(api, &cara, "gamma-shared").await;
    share(api, &cara, &shared_in, &alpha).await;
    // An import, for its task.
    let staged = image(api, &mia, "alpha-imported").await;
    let r = api
        .raw(
            Method::PUT,
            &format!("/image/v2/images/{staged}/stage"),
            Some(&mia),
            Some(vec![7u8; 4096]),
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = api
        .call(
            Method::POST,
            &format!("/image/v2/images/{staged}/import"),
            Some(&mia),
            Some(json!({"method": {"name": "glance-direct"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let r = api
        .call(
            Method::GET,
            &format!("/image/v2/images/{staged}/tasks"),
            Some(&mia),
            None,
        )
        .await;
    let task = r.body["tasks"][0]["id"].as_str().expect("task").to_string();

    let rita_token = api.login("rita", PW, "alpha").await;
    let cred = |name: &'static str| {
        let (rita, token) = (rita.clone(), rita_token.clone());
        async move {
            let r = api
                .call(
                    Method::POST,
                    &format!("/identity/v3/users/{rita}/application_credentials"),
                    Some(&token),
                    Some(json!({"application_credential": {"name": name}})),
                )
                .await;
            id(&r, "application_credential")
        }
    };
    let (cred, cred2) = (cred("one").await, cred("two").await);
    World {
        alpha,
        gamma,
        rita,
        group,
        reader_role,
        member_role,
        service,
        endpoint,
        image: image_a,
        shared_in,
        task,
        cred,
        cred2,
    }
}

/// The request for an endpoint: its path with the parameters filled from the world,
/// and a body well formed enough that only policy can refuse it.
struct Call {
    path: String,
    body: Option<Vec<u8>>,
    content_type: &'static str,
    /// Send the caller's own token as X-Subject-Token.
    subject: bool,
}

fn param(template: &str, name: &str, w: &World) -> String {
    let on = |prefix: &str| template.starts_with(prefix);
    let v = match name {
        "id" if on("/image/v2/images/") && template.ends_with("/members/{member}") => {
            w.image.clone()
        }
        "id" if on("/image/v2/images/") || on("/console/images/") => w.image.clone(),
        "id" if on("/image/v2/tasks/") => w.task.clone(),
        "id" if on("/identity/v3/projects/") => w.alpha.clone(),
        "id" if template.contains("/application_credentials/") => w.cred.clone(),
        "id" if on("/identity/v3/users/") => w.rita.clone(),
        "id" if on("/identity/v3/groups/") => w.group.clone(),
        "id" if on("/identity/v3/roles/") => w.reader_role.clone(),
        "id" if on("/identity/v3/domains/") => "default".into(),
        "id" if on("/identity/v3/regions/") => "RegionOne".into(),
        "id" if on("/identity/v3/services/") => w.service.clone(),
        "id" if on("/identity/v3/endpoints/") => w.endpoint.clone(),
        "member" => w.gamma.clone(),
        "tag" => "t1".into(),
        "user_id" | "actor_id" => w.rita.clone(),
        "actor" => "users".into(),
        "tid" if on("/identity/v3/projects/") => w.alpha.clone(),
        "tid" if on("/identity/v3/domains/") => "default".into(),
        "aid" if template.contains("/users/{aid}") => w.rita.clone(),
        "aid" if template.contains("/groups/{aid}") => w.group.clone(),
        "rid" | "role_id" => w.reader_role.clone(),
        _ => panic!(
            "the every-endpoint fixture has no value for {{{name}}} in {template}: add one \
             (server/tests/endpoints.rs, `param`)"
        ),
    };
    v
}

fn fill(template: &str, w: &World) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("closing brace") + start;
        out.push_str(&rest[..start]);
        out.push_str(&param(template, &rest[start + 1..end], w));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn json_body(v: Value) -> Option<Vec<u8>> {
    Some(v.to_string().into_bytes())
}

fn rest_call(e: &Endpoint, w: &World) -> Call {
    let t = e.path.as_str();
    let mut path = fill(t, w);
    let mut content_type = "application/json";
    let mut subject = false;
    let singular = |kind: &str| {
        let fields = match kind {
            "region" => json!({"description": "r"}),
            "service" => json!({"type": "t", "name": "n"}),
            "endpoint" => {
                json!({"interface": "public", "url": "http://127.0.0.1:1", "service_id": w.service})
            }
            _ => json!({"name": "n"}),
        };
        json!({ kind: fields })
    };
    let body = match (&e.method, t) {
        (&Method::GET | &Method::HEAD | &Method::DELETE, "/identity/v3/auth/tokens") => {
            subject = true;
            None
        }
        (&Method::POST, "/identity/v3/auth/tokens") => json_body(json!({"auth": {"identity": {
            "methods": ["password"],
            "password": {"user": {"name": "bob", "domain": {"id": "default"}, "password": PW}}}}})),
        (&Method::POST, "/identity/v3/users/{id}/password") => {
            // rita's real password: this entry runs last, so her change (allowed) is
            // the final call.
            json_body(json!({"user": {"original_password": PW, "password": "pw-endpoints-2"}}))
        }
        (&Method::POST, "/identity/v3/users/{user_id}/application_credentials") => {
            json_body(json!({"application_credential": {"name": "from-table"}}))
        }
        (&Method::POST | &Method::PATCH, _) if t.starts_with("/identity/v3/") => {
            let kind = t
                .trim_start_matches("/identity/v3/")
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches('s');
            json_body(singular(kind))
        }
        (&Method::POST, "/image/v2/images") => {
            json_body(json!({"name": "e", "disk_format": "raw", "container_format": "bare"}))
        }
        (&Method::PATCH, "/image/v2/images/{id}") => {
            content_type = "application/openstack-images-v2.1-json-patch";
            json_body(json!([{"op": "replace", "path": "/name", "value": "renamed"}]))
        }
        (&Method::PUT, "/image/v2/images/{id}/file" | "/image/v2/images/{id}/stage")
        | (&Method::PUT, "/console/images/{id}/file") => {
            content_type = "application/octet-stream";
            Some(vec![1u8; 1024])
        }
        (&Method::POST, "/image/v2/images/{id}/import") => {
            json_body(json!({"method": {"name": "glance-direct"}}))
        }
        (&Method::POST, "/image/v2/images/{id}/members") => json_body(json!({"member": w.alpha})),
        (&Method::PUT, "/image/v2/images/{id}/members/{member}") => {
            // A member decides on an image shared with it: alpha's membership of gamma's.
            path = format!("/image/v2/images/{}/members/{}", w.shared_in, w.alpha);
            json_body(json!({"status": "accepted"}))
        }
        (&Method::POST | &Method::PUT | &Method::PATCH, _) => json_body(json!({})),
        _ => None,
    };
    Call {
        path,
        body,
        content_type,
        subject,
    }
}

/// A console server function's arguments (`name#Op` entries carry one operation).
fn console_call(e: &Endpoint, w: &World) -> Call {
    let name = e.path.trim_start_matches("/api/");
    let form = |s: String| Call {
        path: format!("/api/{name}"),
        body: Some(s.into_bytes()),
        content_type: "application/x-www-form-urlencoded",
        subject: false,
    };
    if let Some((func, op)) = name.split_once('#') {
        let (img, alpha, rita) = (&w.image, &w.alpha, &w.rita);
        let args = match op {
            "Update" => json!({"id": img, "name": "x", "visibility": "private", "min_disk": "0", "min_ram": "0", "protected": false, "properties": ""}),
            "Delete" | "Protect" => json!({"id": img}),
            "SetActive" => json!({"id": img, "active": false}),
            "MemberAdd" => json!({"id": img, "member": alpha}),
            "MemberRemove" => json!({"id": img, "member": w.gamma}),
            "MemberDecide" => json!({"id": w.shared_in, "accept": true}),
            "ProjectCreate" | "GroupCreate" | "RoleCreate" => json!({"name": "n", "description": ""}),
            "ProjectUpdate" => json!({"id": alpha, "name": "alpha", "description": "", "enabled": true}),
            "ProjectEnable" => json!({"id": alpha, "enabled": true}),
            "ProjectDelete" => json!({"id": alpha}),
            "MemberGrant" | "MemberRevoke" => json!({"project_id": alpha, "user_id": rita, "role_id": w.member_role}),
            "UserCreate" => json!({"name": "n", "email": "", "password": "pw-endpoints-3", "project_id": "", "role_id": ""}),
            "UserUpdate" => json!({"id": rita, "name": "rita", "email": "", "description": "", "project_id": alpha}),
            "UserEnable" => json!({"id": rita, "enabled": true}),
            "UserSetPassword" => json!({"id": rita, "password": "pw-endpoints-4"}),
            "UserDelete" => json!({"id": rita}),
            "GroupUpdate" => json!({"id": w.group, "name": "g", "description": ""}),
            "GroupDelete" => json!({"id": w.group}),
            "GroupAddUser" | "GroupRemoveUser" => json!({"group_id": w.group, "user_id": rita}),
            "RoleUpdate" => json!({"id": w.reader_role, "name": "reader", "description": ""}),
            "RoleDelete" => json!({"id": w.reader_role}),
            "AppCredCreate" => json!({"name": "console-made", "description": "", "expires": "", "unrestricted": false}),
            "AppCredDelete" => json!({"id": w.cred2}),
            // No new password: a caller let through is told what is missing.
            "ChangePassword" => json!({"original": PW, "password": ""}),
            _ => panic!("the every-endpoint fixture has no arguments for {name}: add them (server/tests/endpoints.rs, `console_call`)"),
        };
        return Call {
            path: format!("/api/{func}"),
            body: json_body(json!({"op": {op: args}})),
            content_type: "application/json",
            subject: false,
        };
    }
    match name {
        "sign_in" => form(format!("username=bob&password={PW}&domain=")),
        "sign_out" | "who_am_i" | "cloud_info" | "project_usage" | "my_projects" | "get_prefs"
        | "list_users" | "list_groups" | "list_roles" | "identity_choices" | "my_app_creds" => {
            form(String::new())
        }
        "switch_project" => form(format!("project_id={}", w.alpha)),
        "save_prefs" => form("page_size=20".into()),
        "list_images" => form("all=false&name=&visibility=&status=&marker=".into()),
        "get_image" => form(format!("id={}", w.image)),
        "create_image" => {
            form("name=e&disk_format=raw&visibility=private&min_disk=0&min_ram=0".into())
        }
        "list_projects" => form("search=&page=1".into()),
        "project_members" => form(format!("project_id={}", w.alpha)),
        "group_members" => form(format!("group_id={}", w.group)),
        _ => panic!("the every-endpoint fixture has no arguments for {name}: add them (server/tests/endpoints.rs, `console_call`)"),
    }
}

fn is_console(e: &Endpoint) -> bool {
    e.path.starts_with("/api/") || e.path.starts_with("/console/")
}

/// Credentials for one call: a token for the REST API, a session cookie for the
/// console. Each call gets fresh ones, so that an allowed sign-out or revocation does
/// not spoil the next.
async fn credentials(api: &Api, caller: Caller, console: bool) -> Option<String> {
    let (user, project) = match caller {
        Caller::Anonymous => return None,
        Caller::Forged if console => {
            return Some("ferrostack_session=forged-0123456789abcdef".into())
        }
        Caller::Forged => return Some("gAAAAABforged-token-0123456789".into()),
        Caller::Reader => ("rita", "alpha"),
        Caller::Other => ("bob", "beta"),
        Caller::Shared => ("cara", "gamma"),
    };
    if console {
        let r = api
            .server_fn(
                "sign_in",
                &format!("username={user}&password={PW}&domain="),
                None,
                None,
            )
            .await;
        assert_eq!(r.status, 200, "sign-in of {user}: {}", r.text);
        r.session_cookie()
    } else {
        Some(api.login(user, PW, project).await)
    }
}

async fn send(api: &Api, e: &Endpoint, call: &Call, caller: Caller, console: bool) -> Reply {
    let cred = credentials(api, caller, console).await;
    let mut headers: Vec<(&str, &str)> = vec![("host", "127.0.0.1:8080")];
    if call.body.is_some() {
        headers.push(("content-type", call.content_type));
    }
    let token = if console { None } else { cred.as_deref() };
    if console {
        if let Some(c) = cred.as_deref() {
            headers.push(("cookie", c));
        }
    }
    if call.subject {
        headers.push(("x-subject-token", token.unwrap_or("gAAAAABforged-subject")));
    }
    if e.path == "/console/events" {
        return stream_head(api, &call.path, &headers).await;
    }
    api.raw(
        e.method.clone(),
        &call.path,
        token,
        call.body.clone(),
        &headers,
    )
    .await
}

/// The event stream's answer without its body (which, once allowed, never ends): the
/// status, and for a refusal the reason.
async fn stream_head(api: &Api, path: &str, headers: &[(&str, &str)]) -> Reply {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder().method(Method::GET).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(axum::body::Body::empty()).expect("request");
    let resp = api.app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = if status.is_success() {
        String::new()
    } else {
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Reply {
        status,
        headers,
        body: Value::Null,
        text,
    }
}

/// Variant names of an operations enum, read from serde's own list (so a new variant
/// shows up here without anyone writing it down).
fn variants<T: serde::de::DeserializeOwned>() -> Vec<String> {
    let err = serde_json::from_value::<T>(json!({"__no_such_operation__": {}}))
        .err()
        .expect("not a variant")
        .to_string();
    let list = err.split("expected one of ").nth(1).expect("variant list");
    list.split(',')
        .map(|v| v.trim().trim_matches(|c| c == '`' || c == ' ').to_string())
        .filter(|v| !v.is_empty())
        .map(|v| v.split('`').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_endpoint_holds_its_access_class_for_five_callers() {
    let api = Api::new().await;

    // The table names exactly the server functions the binary registers, and every
    // operation of the operations functions.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .collect();
    let tabled: BTreeSet<String> = api
        .table
        .iter()
        .filter(|e| e.path.starts_with("/api/"))
        .map(|e| e.path.split('#').next().unwrap().to_string())
        .collect();
    assert_eq!(
        registered, tabled,
        "server functions and the table differ: add the function to app/src/access.rs"
    );
    for (func, ops) in [
        ("identity_do", variants::<app::identity::Op>()),
        ("image_do", variants::<app::images::ImageOp>()),
    ] {
        assert!(ops.len() > 3, "{func}: {ops:?}");
        for op in ops {
            let key = format!("/api/{func}#{op}");
            assert!(
                api.table.iter().any(|e| e.path == key),
                "{func}'s operation {op} is not in app/src/access.rs"
            );
        }
    }
    let mut seen = BTreeSet::new();
    for e in &api.table {
        assert!(
            seen.insert((e.method.to_string(), e.path.clone())),
            "{} {} is in the table twice",
            e.method,
            e.path
        );
    }

    let w = world(&api).await;
    let secrets = [&w.image, &w.alpha, &w.rita, &w.cred, &w.task];
    // Deletions last: an allowed one (rita deleting her own credential) must not take
    // away what later entries call; her password change after everything.
    let mut table = api.table.clone();
    table.sort_by_key(|e| (e.path.ends_with("/password"), e.method == Method::DELETE));
    let mut failures = Vec::new();
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    for e in &table {
        let console = is_console(e);
        let call = if e.path.starts_with("/api/") {
            console_call(e, &w)
        } else {
            rest_call(e, &w)
        };
        // The reader goes last: what it is allowed to do may change the resource.
        for caller in [
            Caller::Anonymous,
            Caller::Forged,
            Caller::Other,
            Caller::Shared,
            Caller::Reader,
        ] {
            let r = send(&api, e, &call, caller, console).await;
            let status = r.status.as_u16();
            let want = expect(e.access, caller);
            let ok = match want {
                Some(Expect::Allowed) => !matches!(status, 401 | 403 | 404) && status < 500,
                Some(Expect::Refused(codes)) => codes.contains(&status),
                None => status < 500,
            };
            // A refusal says why (HEAD answers carry no body).
            let said = e.method == Method::HEAD
                || !matches!(want, Some(Expect::Refused(_)))
                || r.text.contains("\"message\"");
            if ok && !said {
                failures.push(format!(
                    "{} {} as {caller:?}: refused without a reason: {}",
                    e.method, e.path, r.text
                ));
            }
            *counts.entry(if ok { "held" } else { "broke" }).or_default() += 1;
            if !ok {
                failures.push(format!(
                    "{} {} ({:?}) as {caller:?}: wanted {want:?}, got {status}: {}",
                    e.method,
                    e.path,
                    e.access,
                    r.text.chars().take(200).collect::<String>()
                ));
            }
            if caller == Caller::Other && r.status.is_success() {
                for s in secrets {
                    if r.text.contains(s.as_str()) {
                        failures.push(format!(
                            "{} {} as another project's member shows alpha's {s}",
                            e.method, e.path
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} calls broke their class:\n{}",
        failures.len(),
        counts.values().sum::<usize>(),
        failures.join("\n")
    );
    assert!(table.len() > 120, "the table lost entries: {}", table.len());
}

/// Every console page needs a session: without one the server answers a redirect to
/// the sign-in page (the sign-in page itself is served).
#[tokio::test]
async fn every_console_page_sends_strangers_to_sign_in() {
    let api = Api::new().await;
    let pages = server::console::page_paths();
    assert!(pages.len() > 8, "{pages:?}");
    for page in pages {
        let path = page
            .split('/')
            .map(|seg| {
                if seg.starts_with(':') {
                    "0b1c2d3e"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let r = api
            .raw(
                Method::GET,
                &path,
                None,
                None,
                &[("host", "127.0.0.1:8080"), ("accept", "text/html")],
            )
            .await;
        if page == "/sign-in" {
            assert_eq!(r.status, 200, "{page}");
        } else {
            assert_eq!(r.status, 303, "{page}: {}", r.status);
            assert_eq!(r.headers["location"], "/sign-in", "{page}");
        }
    }
}

/// Routes join the table by being added through it: no other file of the server
/// registers one with axum directly.
#[test]
fn routes_are_added_only_through_the_table() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") || path.ends_with("api/table.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            for needle in [".route(", ".route_service(", ".nest_service(", "routing::"] {
                if text.contains(needle) {
                    offenders.push(format!("{} uses {needle}", path.display()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "add routes through server::api::table::Routes:\n{}",
        offenders.join("\n")
    );
}
