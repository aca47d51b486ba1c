//! A domain's interactive consoles. The serial console is libvirt's console stream
//! (virDomainOpenConsole), read and written on a thread of its own with its own
//! connection, so a console left open never holds up the host's worker. The VNC
//! console is a socket libvirt hands over (virDomainOpenGraphicsFD) to QEMU's VNC
//! server, which listens on no network port a client could reach directly. Both are
//! bounded: a session's queues hold a fixed number of chunks, and a session ends when
//! either side goes away.

use std::os::fd::FromRawFd;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use virt::connect::Connect;
use virt::stream::Stream;

use crate::{lv, HvError, HvResult};

/// Chunks queued each way before the faster side waits.
const QUEUE: usize = 64;
/// How long the console thread sleeps when neither side had anything.
const IDLE: Duration = Duration::from_millis(10);

/// One open serial console: what the guest prints, and what to type into it. Dropping
/// `input` ends the session.
pub struct SerialConsole {
    pub output: mpsc::Receiver<Vec<u8>>,
    pub input: mpsc::Sender<Vec<u8>>,
}

static EVENT_LOOP: std::sync::Once = std::sync::Once::new();

/// libvirt's default event loop, which non-blocking streams need; registered before
/// the first connection of the process opens.
pub(crate) fn start_event_loop() {
    EVENT_LOOP.call_once(|| {
        if let Err(e) = virt::event::event_register_default_impl() {
            tracing::warn!(error = %e.message(), "cannot register libvirt's event loop; serial consoles will not work");
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("libvirt events".into())
            .spawn(|| loop {
                if virt::event::event_run_default_impl().is_err() {
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start libvirt's event loop thread");
        }
    });
}

/// Open the serial console of domain `uuid` on `uri`, taking it over from any session
/// that holds it (a tab left open elsewhere).
pub async fn serial(uri: &str, uuid: &str) -> HvResult<SerialConsole> {
    let (out_tx, out_rx) = mpsc::channel::<Vec<u8>>(QUEUE);
    let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(QUEUE);
    let (ready_tx, ready_rx) = oneshot::channel::<HvResult<()>>();
    let (uri, uuid) = (uri.to_string(), uuid.to_string());
    let spawned = std::thread::Builder::new()
        .name(format!("console {uuid}"))
        .spawn(move || {
            let opened = (|| -> HvResult<(Connect, Stream)> {
                let conn = Connect::open(Some(&uri)).map_err(|e| HvError::Connect {
                    uri: uri.clone(),
                    message: e.message().to_string(),
                })?;
                let dom = conn.lookup_domain_by_uuid_string(&uuid).map_err(lv)?;
                // VIR_STREAM_NONBLOCK; VIR_DOMAIN_CONSOLE_FORCE.
                let st = Stream::new(&conn, 1).map_err(lv)?;
                dom.open_console(None, &st, 1).map_err(lv)?;
                Ok((conn, st))
            })();
            let (conn, st) = match opened {
                Ok(v) => {
                    let _ = ready_tx.send(Ok(()));
                    v
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let mut buf = vec![0u8; 16 * 1024];
            'session: loop {
                let mut idle = true;
                match st.recv(&mut buf) {
                    Ok(n) if n > 0 => {
                        idle = false;
                        if out_tx.blocking_send(buf[..n as usize].to_vec()).is_err() {
                            break;
                        }
                    }
                    // -2: nothing yet (non-blocking).
                    Ok(-2) => {}
                    // 0: the guest's side closed (the domain stopped); -1 and errors.
                    _ => break,
                }
                loop {
                    match in_rx.try_recv() {
                        Ok(data) => {
                            idle = false;
                            let mut at = 0;
                            let mut tries = 0;
                            while at < data.len() {
                                match st.send(&data[at..]) {
                                    Ok(n) if n > 0 => at += n as usize,
                                    Ok(-2) if tries < 500 => {
                                        tries += 1;
                                        std::thread::sleep(Duration::from_millis(2));
                                    }
                                    _ => break 'session,
                                }
                            }
                        }
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => break 'session,
                    }
                }
                if idle {
                    std::thread::sleep(IDLE);
                }
            }
            let _ = st.abort();
            drop(conn);
        });
    if let Err(e) = spawned {
        return Err(HvError::Unavailable(format!(
            "cannot start a console thread: {e}"
        )));
    }
    ready_rx
        .await
        .map_err(|_| HvError::Unavailable("the console thread stopped".into()))??;
    Ok(SerialConsole {
        output: out_rx,
        input: in_tx,
    })
}

/// A socket to the VNC server of domain `uuid` on `uri` (a host on this machine:
/// libvirt passes the socket over its local connection).
pub async fn vnc(uri: &str, uuid: &str) -> HvResult<std::os::unix::net::UnixStream> {
    let (uri, uuid) = (uri.to_string(), uuid.to_string());
    tokio::task::spawn_blocking(move || {
        let conn = Connect::open(Some(&uri)).map_err(|e| HvError::Connect {
            uri: uri.clone(),
            message: e.message().to_string(),
        })?;
        let got = (|| {
            let dom = conn.lookup_domain_by_uuid_string(&uuid).map_err(lv)?;
            // VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH: the session was authorised here.
            let fd = dom.open_graphics_fd(0, 1).map_err(lv)?;
            // SAFETY: libvirt handed us this descriptor, a connected socket we own.
            Ok(unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd as i32) })
        })();
        drop(conn);
        got
    })
    .await
    .map_err(|e| HvError::Unavailable(format!("the VNC opener stopped: {e}")))?
}
