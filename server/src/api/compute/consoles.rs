//! Consoles: `openstack console url show` (remote-consoles at 2.6+, the older
//! os-getVNCConsole / os-getSerialConsole actions), the WebSockets that carry a serial
//! or VNC console to whoever holds the URL's token, and the two pages a browser opens
//! (xterm.js and noVNC, served from the site's /vendor files). The token is the only
//! credential of the WebSockets: it names one server and one kind and expires; a
//! browser on another origin is refused.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::Query;
use ferrostack_compute::ConsoleKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::prelude::*;
use super::{base, body_object, inner};

/// The largest message a console WebSocket takes from a client.
const MAX_MESSAGE: usize = 64 * 1024;

#[derive(serde::Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn ws_base(st: &AppState) -> String {
    let b = base(st);
    match b.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", b.strip_prefix("http://").unwrap_or(&b)),
    }
}

/// The URL a console of `kind` is reached at with `token`.
fn console_url(st: &AppState, kind: ConsoleKind, token: &str) -> String {
    match kind {
        ConsoleKind::Vnc => format!("{}/console/novnc?token={token}", base(st)),
        ConsoleKind::Serial => format!("{}/console/serial?token={token}", ws_base(st)),
        ConsoleKind::Log => format!("{}/console/logview?token={token}", base(st)),
    }
}

fn kind_of(protocol: &str, ty: &str) -> NResult<ConsoleKind> {
    match (protocol, ty) {
        ("vnc", "novnc") => Ok(ConsoleKind::Vnc),
        ("serial", "serial") => Ok(ConsoleKind::Serial),
        ("vnc", other) | ("serial", other) => Err(Error::bad_request(format!(
            "Unavailable console type {other}: this cloud offers novnc (vnc) and serial."
        ))
        .into()),
        (other, _) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute protocol. Value: {other}. '{other}' is not one of ['vnc', 'serial'] in this cloud (spice, rdp and mks are not offered)."
        ))
        .into()),
    }
}

/// POST /servers/{id}/remote-consoles (2.6+).
pub(crate) async fn remote_console(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    // Who may act first: a refusal must not depend on the body.
    st.services.compute.server_check_write(&ctx, &id).await?;
    let m = inner(body_object(&body)?, "remote_console")?;
    let field = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let (protocol, ty) = (field("protocol"), field("type"));
    let kind = kind_of(&protocol, &ty)?;
    let token = st.services.compute.console_token(&ctx, &id, kind).await?;
    Ok(Json(json!({"remote_console": {
        "protocol": protocol, "type": ty, "url": console_url(&st, kind, &token)}})))
}

/// The os-getVNCConsole and os-getSerialConsole actions (before 2.6).
pub(crate) async fn console_action(
    st: &AppState,
    ctx: &Ctx,
    id: &str,
    name: &str,
    arg: &Value,
) -> Option<NResult<Response>> {
    let protocol = match name {
        "os-getVNCConsole" => "vnc",
        "os-getSerialConsole" => "serial",
        _ => return None,
    };
    let ty = arg
        .get("type")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    Some(
        async {
            let kind = kind_of(protocol, &ty)?;
            let token = st.services.compute.console_token(ctx, id, kind).await?;
            Ok(
                Json(json!({"console": {"type": ty, "url": console_url(st, kind, &token)}}))
                    .into_response(),
            )
        }
        .await,
    )
}

/// A browser on another site may not open a console with a token it got hold of:
/// its Origin, when sent, must be this cloud's.
fn same_origin(st: &AppState, headers: &HeaderMap) -> NResult<()> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let ours = st.public_url.trim_end_matches('/');
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let same_host = origin
        .split_once("://")
        .is_some_and(|(_, rest)| !host.is_empty() && rest == host);
    if origin == ours || same_host {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "A console opened from {origin} is refused: open it from this cloud's pages."
        ))
        .into())
    }
}

/// GET /compute/console/serial?token=…: the serial console over a WebSocket (binary
/// frames out; text or binary frames in), as Nova's serial proxy carries it.
pub(crate) async fn serial_ws(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> NResult<Response> {
    same_origin(&st, &headers)?;
    let session = st.services.compute.console_serial(&q.token).await?;
    Ok(ws
        .protocols(["binary", "base64"])
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let mut session = session;
            pump_serial(socket, &mut session.io).await;
            tracing::info!(server = %session.server_id, "serial console closed");
        }))
}

async fn pump_serial(mut socket: WebSocket, io: &mut ferrostack_compute::SerialConsole) {
    loop {
        tokio::select! {
            out = io.output.recv() => match out {
                Some(bytes) => {
                    if socket.send(Message::Binary(bytes.into())).await.is_err() {
                        return;
                    }
                }
                None => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
            got = socket.recv() => match got {
                Some(Ok(Message::Binary(b))) => {
                    if io.input.send(b.to_vec()).await.is_err() { return; }
                }
                Some(Ok(Message::Text(t))) => {
                    if io.input.send(t.as_bytes().to_vec()).await.is_err() { return; }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                _ => return,
            },
        }
    }
}

/// GET /compute/console/log?token=…: the serial console's log over a WebSocket — its
/// last 64 KiB, then whatever is appended, as text frames.
pub(crate) async fn log_ws(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> NResult<Response> {
    same_origin(&st, &headers)?;
    let session = st.services.compute.console_log(&q.token).await?;
    Ok(ws
        .max_message_size(1024)
        .on_upgrade(move |socket| async move {
            follow_log(socket, &session.io).await;
            drop(session);
        }))
}

/// Send what the log file gains. The file is looked at four times a second (on this
/// side: the browser is pushed to); one that shrank was started again.
async fn follow_log(mut socket: WebSocket, path: &std::path::Path) {
    const TAIL: u64 = 64 * 1024;
    const CHUNK: u64 = 256 * 1024;
    let len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut at = len(path).saturating_sub(TAIL);
    let mut first = true;
    loop {
        if !first {
            tokio::select! {
                got = socket.recv() => match got {
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Text(_) | Message::Binary(_))) => continue,
                    _ => return,
                },
                _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            }
        }
        first = false;
        let now = len(path);
        if now < at {
            at = 0;
        }
        if now == at {
            continue;
        }
        let Ok(mut f) = tokio::fs::File::open(path).await else {
            continue;
        };
        use tokio::io::AsyncSeekExt;
        if f.seek(std::io::SeekFrom::Start(at)).await.is_err() {
            continue;
        }
        let mut buf = vec![0u8; (now - at).min(CHUNK) as usize];
        let Ok(n) = f.read(&mut buf).await else {
            continue;
        };
        at += n as u64;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if socket.send(Message::Text(text.into())).await.is_err() {
            return;
        }
    }
}

/// GET /compute/console/logview?token=…: the console log, following new lines.
pub(crate) async fn log_page() -> Response {
    page(
        "Console log",
        "</head><body><div id=\"bar\">Console log: <span id=\"state\">connecting…</span></div>\
         <pre id=\"log\" style=\"margin:0;padding:8px;height:calc(100% - 42px);overflow:auto;white-space:pre-wrap;font-size:12px\"></pre>\
         <script type=\"module\">\
         const token = new URLSearchParams(location.search).get('token') || '';\
         const log = document.getElementById('log');\
         const state = document.getElementById('state');\
         const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/compute/console/log?token=' + encodeURIComponent(token));\
         ws.onopen = () => { state.textContent = 'following'; document.body.dataset.state = 'connected'; };\
         ws.onmessage = (e) => { const end = log.scrollTop + log.clientHeight >= log.scrollHeight - 4; log.append(e.data); if (end) log.scrollTop = log.scrollHeight; };\
         ws.onclose = () => { state.textContent = 'closed (the URL may have expired: open the tab again)'; document.body.dataset.state = 'closed'; };\
         </script></body>",
    )
}

/// GET /compute/console/novnc/ws?token=…: the VNC console's bytes over a WebSocket.
pub(crate) async fn vnc_ws(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> NResult<Response> {
    same_origin(&st, &headers)?;
    let session = st.services.compute.console_vnc(&q.token).await?;
    Ok(ws
        .protocols(["binary"])
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let server = session.server_id.clone();
            let std_sock = session.io.try_clone();
            if let Ok(s) = std_sock {
                if s.set_nonblocking(true).is_ok() {
                    if let Ok(vnc) = tokio::net::UnixStream::from_std(s) {
                        pump_vnc(socket, vnc).await;
                    }
                }
            }
            drop(session);
            tracing::info!(server = %server, "VNC console closed");
        }))
}

async fn pump_vnc(mut socket: WebSocket, mut vnc: tokio::net::UnixStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            n = vnc.read(&mut buf) => match n {
                Ok(0) | Err(_) => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                Ok(n) => {
                    if socket.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                        return;
                    }
                }
            },
            got = socket.recv() => match got {
                Some(Ok(Message::Binary(b))) => {
                    if vnc.write_all(&b).await.is_err() { return; }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Text(_))) => {}
                _ => return,
            },
        }
    }
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <style>html,body{{margin:0;height:100%;background:#111;color:#ddd;font-family:sans-serif}}\
         #bar{{padding:4px 8px;font-size:13px}}#screen{{height:calc(100% - 26px)}}</style>{body}</html>"
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
        ],
        html,
    )
        .into_response()
}

/// GET /compute/console/novnc?token=…: noVNC on the VNC WebSocket.
pub(crate) async fn novnc_page() -> Response {
    page(
        "VNC console",
        "</head><body><div id=\"bar\">VNC console: <span id=\"state\">connecting…</span></div><div id=\"screen\"></div>\
         <script type=\"module\">\
         import RFB from '/vendor/novnc/core/rfb.js';\
         const token = new URLSearchParams(location.search).get('token') || '';\
         const ws = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/compute/console/novnc/ws?token=' + encodeURIComponent(token);\
         const rfb = new RFB(document.getElementById('screen'), ws, {wsProtocols: ['binary']});\
         rfb.scaleViewport = true;\
         const state = document.getElementById('state');\
         rfb.addEventListener('connect', () => { state.textContent = 'connected'; document.body.dataset.state = 'connected'; });\
         rfb.addEventListener('disconnect', (e) => { state.textContent = e.detail.clean ? 'closed' : 'the console could not be reached (the URL may have expired)'; document.body.dataset.state = 'closed'; });\
         window.rfb = rfb;\
         </script></body>",
    )
}

/// GET /compute/console/terminal?token=…: xterm.js on the serial WebSocket.
pub(crate) async fn terminal_page() -> Response {
    page(
        "Serial console",
        "<link rel=\"stylesheet\" href=\"/vendor/xterm/xterm.css\"></head><body>\
         <div id=\"bar\">Serial console: <span id=\"state\">connecting…</span></div><div id=\"screen\"></div>\
         <script type=\"module\">\
         import { Terminal } from '/vendor/xterm/xterm.mjs';\
         const token = new URLSearchParams(location.search).get('token') || '';\
         const term = new Terminal({convertEol: true, scrollback: 5000});\
         term.open(document.getElementById('screen'));\
         const state = document.getElementById('state');\
         const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/compute/console/serial?token=' + encodeURIComponent(token), ['binary']);\
         ws.binaryType = 'arraybuffer';\
         ws.onopen = () => { state.textContent = 'connected'; document.body.dataset.state = 'connected'; term.focus(); };\
         ws.onmessage = (e) => term.write(new Uint8Array(e.data));\
         ws.onclose = () => { state.textContent = 'closed (the URL may have expired: ask for a new one)'; document.body.dataset.state = 'closed'; };\
         term.onData((d) => { if (ws.readyState === 1) ws.send(new TextEncoder().encode(d)); });\
         window.term = term;\
         </script></body>",
    )
}
