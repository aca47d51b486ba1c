//! The every-endpoint test's world and fixture: the projects, users and resources it
//! calls about, and for each table entry the request (path filled, a body well formed
//! enough that only policy can refuse it). A new route's parameters and body go here.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use server::api::table::Endpoint;

use crate::common::*;
use crate::PW;

mod compute;
mod console;
mod identity;
mod network;
use compute::{compute_world, PUBLIC_KEY};
pub use console::console_call;
pub use identity::METADEF_NS;
use identity::{inherit_world, metadef_world};
use network::network_world;

/// What the fixture made, to fill paths and bodies with.
pub struct World {
    pub alpha: String,
    pub gamma: String,
    pub rita: String,
    pub group: String,
    pub reader_role: String,
    pub member_role: String,
    pub service: String,
    pub endpoint: String,
    pub endpoint_group: String,
    /// A stored policy document.
    pub policy: String,
    /// A project and a domain on which rita holds reader as an inherited grant (they
    /// hold nothing else, so the grant reaches no other project of the table).
    pub inherit_project: String,
    pub inherit_domain: String,
    /// alpha's private image, shared with gamma.
    pub image: String,
    /// gamma's image, shared with alpha (alpha decides on it).
    pub shared_in: String,
    /// An import task of an alpha image.
    pub task: String,
    /// rita's application credentials: one for the REST delete, one for the console's.
    pub cred: String,
    pub cred2: String,
    /// rita's trust (to herself, reader on alpha), her credential (type cert) and the
    /// access key of her EC2 credential on alpha.
    pub trust: String,
    pub credential: String,
    pub ec2_access: String,
    /// alpha's server (on a simulated host), with metadata `role` and tag `t1`.
    pub server: String,
    /// The request id of the server's create action.
    pub server_request: String,
    /// A public flavor (`t1`, with extra spec `hw:cpu_policy`) and image every project may boot.
    pub flavor: String,
    pub public_image: String,
    /// The simulated host's id (hypervisor and service).
    pub host: String,
    /// alpha's server group, and the id of its server's (confirmed) resize.
    pub server_group: String,
    pub migration: String,
    /// alpha's network (tag `t1`) with a subnet and a port, its security group with a
    /// rule, and an admin's shared network every project may plug ports into.
    pub network: String,
    pub subnet: String,
    pub port: String,
    pub security_group: String,
    pub rule: String,
    pub shared_network: String,
    /// The admin's external network, and alpha's router (gateway on it) and floating IP.
    pub external_network: String,
    pub router: String,
    pub floating_ip: String,
}

pub fn id(r: &Reply, key: &str) -> String {
    r.body[key]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{key} id in {}", r.text))
        .to_string()
}

pub async fn user(api: &Api, name: &str, project: &str, role: &str) -> String {
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

pub async fn image(api: &Api, token: &str, name: &str) -> String {
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

pub async fn share(api: &Api, token: &str, image: &str, with: &str) {
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

pub async fn world(api: &Api) -> World {
    let project = |name: &str| {
        let name = name.to_string();
        async move {
            let r = api
                .admin(
                    Method::POST,
                    "/identity/v3/projects",
                    // Tag t1: the tag the table's `{tag}` names.
                    Some(json!({"project": {"name": name, "tags": ["t1"]}})),
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
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/OS-EP-FILTER/endpoint_groups",
            Some(json!({"endpoint_group": {"name": "eg", "filters": {"interface": "public"}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let endpoint_group = id(&r, "endpoint_group");
    metadef_world(api).await;
    let r = api
        .admin(
            Method::POST,
            "/identity/v3/policies",
            Some(json!({"policy": {"type": "application/json", "blob": "{}"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let policy = id(&r, "policy");
    let (inherit_project, inherit_domain) = inherit_world(api, &rita, &reader_role).await;

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
    let r = api
        .call(
            Method::POST,
            "/identity/v3/OS-TRUST/trusts",
            Some(&rita_token),
            Some(
                json!({"trust": {"trustor_user_id": rita, "trustee_user_id": rita,
                "project_id": alpha, "roles": [{"name": "reader"}]}}),
            ),
        )
        .await;
    let trust = id(&r, "trust");
    let r = api
        .call(
            Method::POST,
            "/identity/v3/credentials",
            Some(&rita_token),
            Some(
                json!({"credential": {"user_id": rita, "type": "cert", "blob": "-----BEGIN-----"}}),
            ),
        )
        .await;
    let credential = id(&r, "credential");
    let r = api
        .call(
            Method::POST,
            &format!("/identity/v3/users/{rita}/credentials/OS-EC2"),
            Some(&rita_token),
            Some(json!({"tenant_id": alpha})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let ec2_access = r.body["credential"]["access"]
        .as_str()
        .expect("access")
        .to_string();
    let (server, server_request, flavor, public_image, host, server_group, migration) =
        compute_world(api, &mia, &rita_token).await;
    let [network, subnet, port, security_group, rule, shared_network, external_network, router, floating_ip] =
        network_world(api, &mia).await;
    // alpha's port is the server's interface (os-interface shows it).
    let r = api
        .call(
            Method::POST,
            &format!("/compute/v2.1/servers/{server}/os-interface"),
            Some(&mia),
            Some(json!({"interfaceAttachment": {"port_id": port}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    World {
        alpha,
        gamma,
        rita,
        group,
        reader_role,
        member_role,
        service,
        endpoint,
        endpoint_group,
        policy,
        inherit_project,
        inherit_domain,
        image: image_a,
        shared_in,
        task,
        cred,
        cred2,
        trust,
        credential,
        ec2_access,
        server,
        server_request,
        server_group,
        migration,
        flavor,
        public_image,
        host,
        network,
        subnet,
        port,
        security_group,
        rule,
        shared_network,
        external_network,
        router,
        floating_ip,
    }
}

/// The request for an endpoint: its path with the parameters filled from the world,
/// and a body well formed enough that only policy can refuse it.
pub struct Call {
    pub path: String,
    pub body: Option<Vec<u8>>,
    pub content_type: &'static str,
    /// Send the caller's own token as X-Subject-Token.
    pub subject: bool,
}

pub fn param(template: &str, name: &str, w: &World) -> String {
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
        // member implies reader (bootstrap's inference).
        "id" if on("/identity/v3/roles/") && template.contains("/implies") => w.member_role.clone(),
        "implied" => w.reader_role.clone(),
        "id" if on("/identity/v3/roles/") => w.reader_role.clone(),
        "id" if on("/identity/v3/OS-TRUST/trusts/") => w.trust.clone(),
        "id" if on("/identity/v3/credentials/") => w.credential.clone(),
        "access" => w.ec2_access.clone(),
        "id" if on("/identity/v3/domains/") => "default".into(),
        "id" if on("/identity/v3/policies/") => w.policy.clone(),
        "group" if on("/identity/v3/domains/") => "identity".into(),
        "option" => "driver".into(),
        "id" if on("/identity/v3/regions/") => "RegionOne".into(),
        "id" if on("/identity/v3/services/") => w.service.clone(),
        "id" if on("/identity/v3/endpoints/") => w.endpoint.clone(),
        "id" if on("/identity/v3/OS-EP-FILTER/endpoint_groups/") => w.endpoint_group.clone(),
        "endpoint" => w.endpoint.clone(),
        "id" if on("/compute/v2.1/servers/") => w.server.clone(),
        "id" if on("/compute/v2.1/os-server-groups/") => w.server_group.clone(),
        "migration" => w.migration.clone(),
        "port_id" => w.port.clone(),
        "id" if on("/network/v2.0/networks/") => w.network.clone(),
        "id" if on("/network/v2.0/subnets/") => w.subnet.clone(),
        "id" if on("/network/v2.0/ports/") => w.port.clone(),
        "id" if on("/network/v2.0/security-groups/") => w.security_group.clone(),
        "id" if on("/network/v2.0/security-group-rules/") => w.rule.clone(),
        "id" if on("/network/v2.0/routers/") => w.router.clone(),
        "id" if on("/network/v2.0/floatingips/") => w.floating_ip.clone(),
        "alias" => "security-group".into(),
        "id" if on("/compute/v2.1/flavors/") => w.flavor.clone(),
        "id" if on("/compute/v2.1/os-hypervisors/") || on("/compute/v2.1/os-services/") => {
            w.host.clone()
        }
        "key" if on("/compute/v2.1/servers/") => "role".into(),
        "key" if on("/compute/v2.1/flavors/") => "hw:cpu_policy".into(),
        "request_id" => w.server_request.clone(),
        "name" if on("/compute/v2.1/os-keypairs/") => "rita-key".into(),
        "ns" => METADEF_NS.into(),
        "name" if template.contains("/properties/") => "p1".into(),
        "name" if template.contains("/objects/") => "o1".into(),
        "name" if template.contains("/metadefs/") && template.contains("/tags/") => "t1".into(),
        "name" if template.contains("/resource_types/") => "OS::Glance::Image".into(),
        // Any project's defaults are every caller's to read: not alpha's id, which the
        // answer echoes.
        "project" if template.ends_with("/defaults") => "any-project".into(),
        "project" => w.alpha.clone(),
        "member" => w.gamma.clone(),
        "tag" => "t1".into(),
        "user_id" | "actor_id" => w.rita.clone(),
        "actor" => "users".into(),
        "tid" if on("/identity/v3/OS-INHERIT/projects/") => w.inherit_project.clone(),
        "tid" if on("/identity/v3/OS-INHERIT/domains/") => w.inherit_domain.clone(),
        "tid" if on("/identity/v3/projects/") => w.alpha.clone(),
        "tid" if on("/identity/v3/domains/") => "default".into(),
        "aid" if template.contains("/users/{aid}") => w.rita.clone(),
        "aid" if template.contains("/groups/{aid}") => w.group.clone(),
        "rid" | "role_id" => w.reader_role.clone(),
        // Glance's version negotiation: a version it does not have.
        "version" => "v1".into(),
        "*rest" => "images".into(),
        _ => panic!(
            "the every-endpoint fixture has no value for {{{name}}} in {template}: add one \
             (server/tests/endpoints.rs, `param`)"
        ),
    };
    v
}

pub fn fill(template: &str, w: &World) -> String {
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

pub fn json_body(v: Value) -> Option<Vec<u8>> {
    Some(v.to_string().into_bytes())
}

pub fn rest_call(e: &Endpoint, w: &World) -> Call {
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
        (&Method::POST, "/identity/v3/OS-TRUST/trusts") => json_body(json!({"trust": {
            "trustor_user_id": w.rita, "trustee_user_id": w.rita, "project_id": w.alpha,
            "roles": [{"name": "reader"}]}})),
        (&Method::GET, "/identity/v3/OS-TRUST/trusts") => {
            // Only admins list every trust; a user lists its own.
            path = format!("{path}?trustor_user_id={}", w.rita);
            None
        }
        (&Method::POST, "/identity/v3/credentials") => json_body(json!({"credential": {
            "user_id": w.rita, "type": "cert", "blob": "from-table"}})),
        (&Method::PATCH, "/identity/v3/credentials/{id}") => {
            json_body(json!({"credential": {"blob": "changed"}}))
        }
        (&Method::POST, "/identity/v3/users/{user_id}/credentials/OS-EC2") => {
            json_body(json!({"tenant_id": w.alpha}))
        }
        (&Method::POST, "/identity/v3/OS-EP-FILTER/endpoint_groups") => {
            json_body(json!({"endpoint_group": {"name": "eg2", "filters": {"interface": "admin"}}}))
        }
        (&Method::PATCH, "/identity/v3/OS-EP-FILTER/endpoint_groups/{id}") => {
            json_body(json!({"endpoint_group": {"description": "d"}}))
        }
        (&Method::POST, "/identity/v3/policies") => {
            json_body(json!({"policy": {"type": "application/json", "blob": "{\"a\": 1}"}}))
        }
        (&Method::PATCH, "/identity/v3/policies/{id}") => {
            json_body(json!({"policy": {"blob": "{}"}}))
        }
        (&Method::PUT, "/identity/v3/projects/{id}/tags") => {
            json_body(json!({"tags": ["t1", "t2"]}))
        }
        (&Method::PUT, "/identity/v3/regions/{id}") => {
            json_body(json!({"region": {"description": "r"}}))
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
        (&Method::POST, "/image/v2/metadefs/namespaces") => {
            json_body(json!({"namespace": "fs-table"}))
        }
        (&Method::PUT, "/image/v2/metadefs/namespaces/{ns}") => {
            json_body(json!({"description": "d"}))
        }
        (&Method::POST, "/image/v2/metadefs/namespaces/{ns}/resource_types") => {
            json_body(json!({"name": "OS::Nova::Flavor"}))
        }
        (&Method::POST, "/image/v2/metadefs/namespaces/{ns}/properties") => {
            json_body(json!({"name": "p2", "title": "P2", "type": "string"}))
        }
        (&Method::PUT, "/image/v2/metadefs/namespaces/{ns}/properties/{name}") => {
            json_body(json!({"title": "P1", "type": "integer"}))
        }
        (&Method::POST, "/image/v2/metadefs/namespaces/{ns}/objects") => {
            json_body(json!({"name": "o2"}))
        }
        (&Method::PUT, "/image/v2/metadefs/namespaces/{ns}/objects/{name}") => {
            json_body(json!({"description": "d"}))
        }
        (&Method::POST, "/image/v2/metadefs/namespaces/{ns}/tags") => {
            json_body(json!({"tags": [{"name": "t2"}]}))
        }
        (&Method::PUT, "/image/v2/metadefs/namespaces/{ns}/tags/{name}") => {
            json_body(json!({"name": "t1"}))
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
        (&Method::POST, "/compute/v2.1/servers") => json_body(json!({"server": {
            "name": "from-table", "imageRef": w.public_image, "flavorRef": w.flavor, "networks": "none"}})),
        (&Method::PUT, "/compute/v2.1/servers/{id}") => {
            json_body(json!({"server": {"name": "renamed"}}))
        }
        (&Method::POST, "/compute/v2.1/servers/{id}/action") => json_body(json!({"os-stop": null})),
        (&Method::POST, "/compute/v2.1/servers/{id}/os-interface") => {
            json_body(json!({"interfaceAttachment": {"port_id": w.port}}))
        }
        (&Method::POST, "/compute/v2.1/servers/{id}/remote-consoles") => {
            json_body(json!({"remote_console": {"protocol": "serial", "type": "serial"}}))
        }
        (&Method::PUT | &Method::POST, "/compute/v2.1/servers/{id}/metadata") => {
            json_body(json!({"metadata": {"role": "web"}}))
        }
        (&Method::PUT, "/compute/v2.1/servers/{id}/metadata/{key}") => {
            json_body(json!({"meta": {"role": "db"}}))
        }
        (&Method::PUT, "/compute/v2.1/servers/{id}/tags") => json_body(json!({"tags": ["t1"]})),
        (&Method::POST, "/compute/v2.1/flavors") => {
            json_body(json!({"flavor": {"name": "from-table", "vcpus": 1, "ram": 64, "disk": 1}}))
        }
        (&Method::PUT, "/compute/v2.1/flavors/{id}") => {
            json_body(json!({"flavor": {"description": "d"}}))
        }
        (&Method::POST, "/compute/v2.1/flavors/{id}/action") => {
            json_body(json!({"addTenantAccess": {"tenant": w.alpha}}))
        }
        (&Method::POST, "/compute/v2.1/flavors/{id}/os-extra_specs") => {
            json_body(json!({"extra_specs": {"hw:x": "y"}}))
        }
        (&Method::PUT, "/compute/v2.1/flavors/{id}/os-extra_specs/{key}") => {
            json_body(json!({"hw:cpu_policy": "dedicated"}))
        }
        (&Method::POST, "/compute/v2.1/os-keypairs") => json_body(json!({"keypair": {
            "name": "from-table", "public_key": PUBLIC_KEY}})),
        (&Method::PUT, "/compute/v2.1/os-services/{id}") => {
            json_body(json!({"status": "disabled"}))
        }
        (&Method::PUT, "/compute/v2.1/os-services/force-down") => json_body(
            json!({"host": "sim-endpoints", "binary": "nova-compute", "forced_down": false}),
        ),
        (&Method::POST, "/compute/v2.1/os-server-groups") => {
            json_body(json!({"server_group": {"name": "from-table", "policy": "affinity"}}))
        }
        (&Method::PUT, "/compute/v2.1/os-quota-sets/{project}") => {
            json_body(json!({"quota_set": {"instances": 20}}))
        }
        (m, p) if p.starts_with("/network/v2.0/") && network::body(m, p, w).is_some() => {
            network::body(m, p, w).flatten()
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
