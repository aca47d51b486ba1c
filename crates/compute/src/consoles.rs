//! A server's interactive consoles: the serial console (libvirt's console stream) and
//! VNC. Who may open one is decided when the URL is asked for (a member of the
//! server's project, through the same policy as every other change): the answer is a
//! token of 256 random bits that opens that server's console of that kind, and no
//! other, until it expires. Only the token's SHA-256 is stored. The WebSocket that
//! carries the console presents the token; sessions are counted, at most
//! `MAX_SESSIONS` at once in the process.

use std::sync::Arc;
use std::time::Duration;

use ferrostack_core::{time, Action, Ctx, Error, Result};
use ferrostack_hypervisor::console::{self, SerialConsole};
use ferrostack_hypervisor::Hypervisor;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::status::*;
use crate::Compute;

/// How long a console URL works (Nova's default token TTL).
pub const TOKEN_TTL: Duration = Duration::from_secs(600);
/// Console sessions open at once in this process.
pub const MAX_SESSIONS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleKind {
    Serial,
    Vnc,
    /// The serial console's log, followed as it grows (read-only).
    Log,
}

impl ConsoleKind {
    fn name(self) -> &'static str {
        match self {
            ConsoleKind::Serial => "serial",
            ConsoleKind::Vnc => "vnc",
            ConsoleKind::Log => "log",
        }
    }
}

fn hash(token: &str) -> String {
    openssl::sha::sha256(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn sessions() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(MAX_SESSIONS))
}

/// An open console session: the permit it holds ends with it.
pub struct Session<T> {
    pub io: T,
    pub server_id: String,
    _permit: OwnedSemaphorePermit,
}

impl Compute {
    /// A token opening `id`'s console of `kind` for [`TOKEN_TTL`].
    pub async fn console_token(&self, ctx: &Ctx, id: &str, kind: ConsoleKind) -> Result<String> {
        if kind == ConsoleKind::Log {
            // Whoever may read the console log may follow it, in any state.
            let row = self.server_for(ctx, id, Action::Read).await?;
            return self.store_token(&row.id, &row.project_id, kind).await;
        }
        let row = self.server_for(ctx, id, Action::Write).await?;
        if ![ACTIVE, PAUSED, RESCUED].contains(&row.vm_state.as_str()) {
            return Err(Error::conflict(format!(
                "Instance {id} is not running (it is {}): its console is there only while it runs.",
                status(&row.vm_state, row.task_state.as_deref())
            )));
        }
        let host = self
            .host_row(row.host_id.as_deref().unwrap_or_default())
            .await?;
        if Hypervisor::is_simulated(&host.uri) {
            return Err(Error::bad_request(format!(
                "Instance {id} runs on {}, a simulated host: it has no console.",
                host.name
            )));
        }
        if kind == ConsoleKind::Vnc && !Hypervisor::is_local(&host.uri) {
            return Err(Error::bad_request(format!(
                "The VNC console is offered for servers on this machine's host only; {} is remote.",
                host.name
            )));
        }
        self.store_token(&row.id, &row.project_id, kind).await
    }

    async fn store_token(&self, server: &str, project: &str, kind: ConsoleKind) -> Result<String> {
        let mut bytes = [0u8; 32];
        openssl::rand::rand_bytes(&mut bytes).map_err(Error::internal)?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = time::now();
        let expires = now + chrono::Duration::from_std(TOKEN_TTL).map_err(Error::internal)?;
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM console_tokens WHERE expires_at < $1")
            .bind(time::to_db(&now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO console_tokens (token_hash, server_id, project_id, kind, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash(&token))
        .bind(server)
        .bind(project)
        .bind(kind.name())
        .bind(time::to_db(&expires))
        .bind(time::to_db(&now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The server and host a token opens, if it is valid for `kind`.
    async fn console_target(
        &self,
        token: &str,
        kind: ConsoleKind,
    ) -> Result<(String, Option<String>, OwnedSemaphorePermit)> {
        let refused = || {
            Error::Unauthenticated(
                "The console token is unknown or has expired: ask for a new console URL.".into(),
            )
        };
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(refused());
        }
        let found: Option<(String, String)> = sqlx::query_as(
            "SELECT server_id, kind FROM console_tokens WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(hash(token))
        .bind(time::to_db(&time::now()))
        .fetch_optional(&self.db.pool)
        .await?;
        let Some((server, k)) = found else {
            return Err(refused());
        };
        if k != kind.name() {
            return Err(refused());
        }
        let row = self.server_row(&server).await.map_err(|_| refused())?;
        let permit = self.consoles.clone().try_acquire_owned().map_err(|_| Error::Unavailable {
            message: format!("{MAX_SESSIONS} console sessions are open already; close one or try again later."),
            retry_after: 5,
        })?;
        Ok((server, row.host_id, permit))
    }

    async fn host_of(&self, host: Option<String>) -> Result<ferrostack_types::compute::Host> {
        self.host_row(host.as_deref().unwrap_or_default())
            .await
            .map_err(|_| Error::conflict("The server is not on a host now."))
    }

    /// The console log a token names (a path this service made from the server's id),
    /// to follow as it grows.
    pub async fn console_log(&self, token: &str) -> Result<Session<std::path::PathBuf>> {
        let (server, _, permit) = self.console_target(token, ConsoleKind::Log).await?;
        Ok(Session {
            io: self.instance_dir(&server).join("console.log"),
            server_id: server,
            _permit: permit,
        })
    }

    /// Open the serial console a token names.
    pub async fn console_serial(&self, token: &str) -> Result<Session<SerialConsole>> {
        let (server, host, permit) = self.console_target(token, ConsoleKind::Serial).await?;
        let host = self.host_of(host).await?;
        let io = console::serial(&host.uri, &server)
            .await
            .map_err(|e| Error::conflict(format!("The serial console cannot be opened: {e}")))?;
        Ok(Session {
            io,
            server_id: server,
            _permit: permit,
        })
    }

    /// Open the VNC console a token names: a socket to the guest's VNC server.
    pub async fn console_vnc(
        &self,
        token: &str,
    ) -> Result<Session<std::os::unix::net::UnixStream>> {
        let (server, host, permit) = self.console_target(token, ConsoleKind::Vnc).await?;
        let host = self.host_of(host).await?;
        let io = console::vnc(&host.uri, &server)
            .await
            .map_err(|e| Error::conflict(format!("The VNC console cannot be opened: {e}")))?;
        Ok(Session {
            io,
            server_id: server,
            _permit: permit,
        })
    }
}
