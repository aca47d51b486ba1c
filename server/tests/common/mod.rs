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
    pub admin_token: String,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The OpenStack error message, for assertions on what the user is told.
    pub fn message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Api {
    pub async fn new() -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::for_tests().await.expect("db");
        let mut cfg = IdentityConfig::new(dir.path().join("keys"));
        cfg.password_params = PasswordParams::for_tests();
        let identity = Identity::open(db, cfg).await.expect("identity");
        identity
            .bootstrap(
                &Ctx::internal("t"),
                &BootstrapOptions::new(ADMIN_PASSWORD.into(), PUBLIC_URL.into()),
            )
            .await
            .expect("bootstrap");
        let state = AppState {
            identity,
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
        let app = server::api::with_request_ids(server::api::router(&state).with_state(state));
        let mut api = Api {
            app,
            admin_token: String::new(),
            _dir: dir,
        };
        api.admin_token = api.login("admin", ADMIN_PASSWORD, "admin").await;
        api
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("x-auth-token", t);
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request");
        let resp = self.app.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply {
            status,
            headers,
            body,
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
