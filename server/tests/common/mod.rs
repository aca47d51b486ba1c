//! The application the binary serves, over a fresh database, spoken to over HTTP
//! requests in process (the router is the same one `ferrostack serve` mounts).

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use ferrostack_core::{Ctx, Db};
use ferrostack_identity::{BootstrapOptions, Identity, IdentityConfig, PasswordParams};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use server::AppState;
use tower::ServiceExt;

pub const PUBLIC_URL: &str = "http://127.0.0.1:8080";
pub const ADMIN_PASSWORD: &str = "admin-secret-1";

pub struct Api {
    pub app: Router,
    /// The endpoint table the application was built from.
    pub table: Vec<server::api::table::Endpoint>,
    pub admin_token: String,
    /// The compute service behind the API (tests register simulated hosts with it).
    pub compute: std::sync::Arc<ferrostack_compute::Compute>,
    db: Db,
    dir: std::sync::Arc<tempfile::TempDir>,
    /// What this cloud's operator changed in the image service's configuration.
    images_cfg: fn(&mut ferrostack_image::ImageConfig),
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The session cookie this reply sets (`name=value`), if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("ferrostack_session="))
            .and_then(|c| c.split(';').next())
            .map(String::from)
    }

    /// The OpenStack error message, for assertions on what the user is told.
    pub fn message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Longer than any request of the suite takes; a hang fails the test that met it.
pub const RESPONSE_WITHIN: std::time::Duration = std::time::Duration::from_secs(300);

impl Api {
    pub async fn new() -> Api {
        Api::with_images(|_| {}).await
    }

    /// A cloud whose operator configured the image service with `images_cfg`.
    pub async fn with_images(images_cfg: fn(&mut ferrostack_image::ImageConfig)) -> Api {
        // FERROSTACK_TEST_LOG=<filter> prints the services' logs to stderr, each line
        // with its test's thread name (to see where a test stopped).
        if let Ok(filter) = std::env::var("FERROSTACK_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_thread_names(true)
                .with_writer(std::io::stderr)
                .try_init();
        }
        let dir = std::sync::Arc::new(tempfile::tempdir().expect("tempdir"));
        let db = Db::for_tests().await.expect("db");
        Api::over(db, dir, images_cfg).await
    }

    /// The same cloud served by a new process: same database and keys, nothing else
    /// carried over (what a restart of `ferrostack serve` is).
    pub async fn restart(&self) -> Api {
        Api::over(self.db.clone(), self.dir.clone(), self.images_cfg).await
    }

    async fn over(
        db: Db,
        dir: std::sync::Arc<tempfile::TempDir>,
        images_cfg: fn(&mut ferrostack_image::ImageConfig),
    ) -> Api {
        let mut cfg = IdentityConfig::new(dir.path().join("keys"));
        cfg.password_params = PasswordParams::for_tests();
        let identity = Identity::open(db.clone(), cfg).await.expect("identity");
        identity
            .bootstrap(
                &Ctx::internal("t"),
                &BootstrapOptions::new(ADMIN_PASSWORD.into(), PUBLIC_URL.into()),
            )
            .await
            .expect("bootstrap");
        let platform = ferrostack_core::Platform::open(db.clone(), Default::default())
            .await
            .expect("platform");
        let mut image_cfg = ferrostack_image::ImageConfig::new(dir.path().join("images"));
        images_cfg(&mut image_cfg);
        let images = ferrostack_image::Images::open(&platform, image_cfg)
            .await
            .expect("images");
        images.start_jobs();
        let mut compute_cfg = ferrostack_compute::ComputeConfig::new(dir.path().join("compute"));
        compute_cfg.shutdown_timeout = std::time::Duration::from_secs(5);
        let compute = ferrostack_compute::Compute::open(&platform, images.clone(), compute_cfg)
            .await
            .expect("compute");
        compute.start_jobs();
        let network = ferrostack_network::Networking::open(&platform, Default::default())
            .await
            .expect("network");
        compute.attach_network(network.clone());
        let state = AppState {
            services: app::services::Services {
                platform,
                identity,
                images,
                compute: compute.clone(),
                network,
            },
            public_url: PUBLIC_URL.into(),
            cloud: app::CloudInfo {
                version: "test".into(),
                auth_url: format!("{PUBLIC_URL}/identity/v3"),
                region: "RegionOne".into(),
            },
            leptos: leptos::config::LeptosOptions::builder()
                .output_name("ferrostack")
                .build(),
        };
        let (app, table) = server::app_and_table(state);
        let mut api = Api {
            app,
            table,
            admin_token: String::new(),
            compute,
            db,
            dir,
            images_cfg,
        };
        api.admin_token = api.login("admin", ADMIN_PASSWORD, "admin").await;
        api
    }

    /// Register a simulated host (libvirt's test driver) with `vcpus` CPUs and `mib`
    /// MiB of memory.
    pub async fn sim_host(&self, name: &str, vcpus: u32, mib: u64) {
        let path = self.dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, ferrostack_compute::simulated_node_xml(vcpus, mib))
            .expect("host file");
        self.compute
            .host_add(
                &Ctx::internal("t"),
                ferrostack_compute::NewHost {
                    name: name.into(),
                    uri: format!("test://{}", path.display()),
                    disk_gb: Some(1000),
                    ..Default::default()
                },
            )
            .await
            .expect("host");
    }

    /// Call a console server function (form-encoded, as the browser's ActionForm sends
    /// it) from the console's own origin, with an optional session cookie.
    pub async fn server_fn(
        &self,
        name: &str,
        form: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> Reply {
        let mut headers = vec![
            ("content-type", "application/x-www-form-urlencoded"),
            ("host", "127.0.0.1:8080"),
        ];
        if let Some(c) = cookie {
            headers.push(("cookie", c));
        }
        if let Some(o) = origin {
            headers.push(("origin", o));
        }
        self.raw(
            Method::POST,
            &format!("/api/{name}"),
            None,
            Some(form.as_bytes().to_vec()),
            &headers,
        )
        .await
    }

    /// A server function with JSON input (`input = Json`), as the console sends them.
    pub async fn server_fn_json(&self, name: &str, body: Value, cookie: &str) -> Reply {
        let body = serde_json::to_vec(&body).expect("json");
        let headers = [
            ("content-type", "application/json"),
            ("host", "127.0.0.1:8080"),
            ("cookie", cookie),
        ];
        self.raw(
            Method::POST,
            &format!("/api/{name}"),
            None,
            Some(body),
            &headers,
        )
        .await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method.clone()).uri(path);
        if let Some(t) = token {
            req = req.header("x-auth-token", t);
        }
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request");
        // A response that never comes fails its test rather than stalling the run.
        let (status, headers, bytes) = tokio::time::timeout(RESPONSE_WITHIN, async {
            let resp = self.app.clone().oneshot(req).await.expect("response");
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            (status, headers, bytes)
        })
        .await
        .unwrap_or_else(|_| {
            panic!("{method} {path}: no whole response within {RESPONSE_WITHIN:?}")
        });
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.raw(
            method,
            path,
            token,
            body.map(|b| b.to_string().into_bytes()),
            &[],
        )
        .await
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, Some(&self.admin_token.clone()), body)
            .await
    }

    pub async fn login(&self, user: &str, password: &str, project: &str) -> String {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}},
        }});
        let r = self
            .call(Method::POST, "/identity/v3/auth/tokens", None, Some(body))
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "login of {user}: {:?}",
            r.body
        );
        r.headers["x-subject-token"]
            .to_str()
            .expect("token")
            .to_string()
    }

    /// A new project with a new user holding `member` there; returns (project id,
    /// user id, the user's token).
    pub async fn member(&self, user: &str, project: &str) -> (String, String, String) {
        let p = self
            .admin(
                Method::POST,
                "/identity/v3/projects",
                Some(json!({"project": {"name": project}})),
            )
            .await;
        let pid = p.body["project"]["id"]
            .as_str()
            .expect("project id")
            .to_string();
        let u = self
            .admin(
                Method::POST,
                "/identity/v3/users",
                Some(json!({"user": {"name": user, "password": "pw-1"}})),
            )
            .await;
        let uid = u.body["user"]["id"].as_str().expect("user id").to_string();
        let roles = self
            .admin(Method::GET, "/identity/v3/roles?name=member", None)
            .await;
        let rid = roles.body["roles"][0]["id"]
            .as_str()
            .expect("member role")
            .to_string();
        let g = self
            .admin(
                Method::PUT,
                &format!("/identity/v3/projects/{pid}/users/{uid}/roles/{rid}"),
                None,
            )
            .await;
        assert_eq!(g.status, StatusCode::NO_CONTENT);
        let token = self.login(user, "pw-1", project).await;
        (pid, uid, token)
    }
}
