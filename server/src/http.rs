//! The HTTP front: the accept loop with its limits, and the checks every request
//! passes before any router sees it.
//!
//! - Slow clients: a connection must send a request's headers within
//!   `header_read` (hyper's header-read timeout, which also ends idle keep-alive
//!   connections), and at most `max_connections` are served at once (further ones
//!   wait in the listen queue), kept below the process's file-descriptor limit — so a
//!   slowloris run of trickling connections is cut off instead of starving everyone.
//! - Bodies: every route but the streamed upload routes takes at most
//!   [`BODY_LIMIT`] bytes; a larger declared body is answered 413 before it is read,
//!   and an undeclared (chunked) one is cut off at the limit.
//! - Host: a request naming a host other than the cloud's public URL (or an IP
//!   literal, or localhost) is refused with 400 — a DNS-rebinding page cannot reach a
//!   console bound to 127.0.0.1 through a name it controls.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// The largest request body outside the upload routes (API JSON, server functions).
pub const BODY_LIMIT: u64 = 1 << 20;

/// Paths whose bodies are image data, streamed to disk and bounded by quotas instead.
fn streams_data(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    matches!(
        parts.as_slice(),
        ["", "image", "v2", "images", _, "file" | "stage"] | ["", "console", "images", _, "file"]
    )
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read: Duration::from_secs(10),
            max_connections: (raise_nofile().saturating_sub(256) as usize).clamp(64, 16_384),
        }
    }
}

/// Raise the soft file-descriptor limit to the hard one; returns the soft limit now.
pub fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 1024;
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur;
            }
        }
        r.rlim_cur
    }
}

/// Serve `app` on `listener` with `limits` until `shutdown` completes, then let the
/// requests in flight finish (for up to 10 seconds).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(limits.header_read);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = &mut shutdown => break,
        };
        let (tcp, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors or a reset in the queue: wait a moment.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // No Nagle: streamed responses and small answers go out at once.
        let _ = tcp.set_nodelay(true);
        let svc = app
            .clone()
            .map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                req
            });
        let builder = builder.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(svc));
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(client = %addr, error = %e, "connection ended with an error");
                    }
                }
                _ = stopped.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(10), conn).await;
                }
            }
        });
    }
    let _ = stop.send(true);
    // Requests in flight finish (their connections hold slots until then).
    let all = limits.max_connections as u32;
    let _ = tokio::time::timeout(Duration::from_secs(11), slots.acquire_many(all)).await;
    Ok(())
}

/// 413 for a declared body over the limit (before reading it); a limit on the reading
/// of an undeclared one. Upload routes stream and are bounded by quotas instead.
pub async fn body_limit(req: Request, next: Next) -> Response {
    if streams_data(req.uri().path()) {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let limited = http_body_util::Limited::new(body, BODY_LIMIT as usize);
    next.run(Request::from_parts(parts, Body::new(limited)))
        .await
}

fn too_large() -> Response {
    let msg = format!("The request body is larger than {BODY_LIMIT} bytes.");
    let body = serde_json::json!({"error": {"code": 413, "title": "Request Entity Too Large", "message": msg}});
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response()
}

/// Which `Host` values this cloud answers: its public URL's authority, IP literals
/// and localhost (any port). Anything else is a name this cloud was not given.
#[derive(Clone, Debug)]
pub struct AllowedHosts {
    public: String,
}

impl AllowedHosts {
    pub fn new(public_url: &str) -> Self {
        let authority = public_url
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(public_url)
            .split('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        AllowedHosts { public: authority }
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if host == self.public {
            return true;
        }
        // The name without its port (IPv6 literals are bracketed).
        let name = if let Some(rest) = host.strip_prefix('[') {
            match rest.split_once(']') {
                Some((v6, _)) => return v6.parse::<std::net::Ipv6Addr>().is_ok(),
                None => return false,
            }
        } else {
            host.rsplit_once(':').map(|(n, _)| n).unwrap_or(&host)
        };
        let public_name = self
            .public
            .rsplit_once(':')
            .map(|(n, _)| n)
            .unwrap_or(&self.public);
        name == public_name || name == "localhost" || name.parse::<std::net::Ipv4Addr>().is_ok()
    }
}

pub async fn host_check(
    axum::extract::State(allowed): axum::extract::State<AllowedHosts>,
    req: Request,
    next: Next,
) -> Response {
    // HTTP/2 carries the authority in the URI; HTTP/1.1 in Host. A request with
    // neither (HTTP/1.0) names no host to rebind.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    if let Some(h) = host {
        if !allowed.allows(&h) {
            tracing::warn!(host = %h, "refused a request for a host this cloud does not serve");
            let msg =
                format!("This cloud does not answer to the host name {h:?}; use its address.");
            let body =
                serde_json::json!({"error": {"code": 400, "title": "Bad Request", "message": msg}});
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
    }
    next.run(req).await
}

/// The client's address (from the accept loop), when the request came over TCP.
pub fn client_addr(req: &axum::http::request::Parts) -> Option<SocketAddr> {
    req.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_the_public_name_ip_literals_or_localhost() {
        let a = AllowedHosts::new("https://cloud.example:8443");
        assert!(a.allows("cloud.example:8443"));
        assert!(a.allows("CLOUD.example"));
        assert!(a.allows("127.0.0.1:8080"));
        assert!(a.allows("[::1]:8080"));
        assert!(a.allows("localhost:8080"));
        assert!(!a.allows("attacker.example:8080"));
        assert!(!a.allows("127.0.0.1.attacker.example"));
        assert!(streams_data("/image/v2/images/x/file"));
        assert!(!streams_data("/image/v2/images"));
        assert!(!streams_data("/api/image_do"));
        assert!(!streams_data("/image/v2/images/x/members/file"));
        assert!(!streams_data("/image/v2/images/x/tags/stage"));
    }
}
