//! Image data on disk: streaming uploads into `staging/`, vetting, the atomic move into
//! place, downloads, and cleaning up after a crash.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use ferrostack_core::{time, Ctx, Error, Result};
use ferrostack_types::image::Image;

use crate::digest::Digest;
use crate::{inspect, new_part_name, Images};

/// An upload body: chunks of bytes, or the error that cut it short.
/// Received bytes between two progress events of an upload.
pub const PROGRESS_STEP: i64 = 64 << 20;

pub type UploadBody =
    std::pin::Pin<Box<dyn Stream<Item = std::result::Result<Bytes, String>> + Send>>;

impl Images {
    pub(crate) fn staging(&self) -> PathBuf {
        self.cfg.dir.join("staging")
    }

    /// Where an active image's bytes are. Ids are UUIDs we generated or checked, so
    /// the path cannot leave the data directory.
    pub fn data_path(&self, id: &str) -> PathBuf {
        self.cfg.dir.join(id)
    }

    /// After a crash: uploads whose receiving process is gone are cut — their images
    /// marked `killed`, their bytes given back, their partial files deleted — and files
    /// no image claims are removed. Another process sharing the database and the data
    /// directory keeps its uploads in flight and their files.
    pub(crate) async fn recover(&self) -> Result<()> {
        let staging = self.staging();
        tokio::fs::create_dir_all(&staging)
            .await
            .map_err(Error::internal)?;
        let cut: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT id, owner, reserved, receiver FROM images WHERE status = 'saving'",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut killed = 0;
        for (id, owner, reserved, receiver) in cut {
            if !self.receiver_gone(receiver.as_deref()) {
                continue;
            }
            let mut tx = self.db.pool.begin().await?;
            let n = sqlx::query(
                "UPDATE images SET status = 'killed', reserved = 0, updated_at = $2 WHERE id = $1 AND status = 'saving'",
            )
            .bind(&id)
            .bind(time::to_db(&time::now()))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                crate::usage::release_row(&mut tx, &owner, None, reserved).await?;
                killed += 1;
            }
            tx.commit().await?;
        }
        if killed > 0 {
            tracing::warn!(
                killed,
                "uploads interrupted by a restart: those images are now 'killed'"
            );
        }
        // The files first, then which images are busy: a file another process creates
        // after this scan is not looked at, and one that exists now belongs to an image
        // whose state the query below already sees (its row moves before its file).
        let staged_files = list_dir(&staging).await?;
        let data_files = list_dir(&self.cfg.dir).await?;
        // Images whose files are still being written (by any process): uploads and
        // stages in flight, imports converting or linking their data into place.
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, status, receiver FROM images WHERE status IN ('saving', 'uploading', 'importing')",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let busy: Vec<String> = rows
            .into_iter()
            .filter(|(_, status, r)| status != "uploading" || !self.receiver_gone(r.as_deref()))
            .map(|(id, _, _)| id)
            .collect();
        for name in staged_files {
            let image = name.split('.').next().unwrap_or_default();
            if !busy.iter().any(|b| b == image) {
                let path = staging.join(&name);
                tracing::warn!(file = %path.display(), "removing a partial image upload left by a crash");
                let _ = tokio::fs::remove_file(path).await;
            }
        }
        let kept: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM images WHERE status IN ('active', 'deactivated', 'saving', 'importing')",
        )
        .fetch_all(&self.db.pool)
        .await?;
        for name in data_files {
            if name != "staging" && name != "staged" && !kept.contains(&name) {
                let path = self.cfg.dir.join(&name);
                tracing::warn!(file = %path.display(), "removing image data no image claims");
                let _ = tokio::fs::remove_file(path).await;
            }
        }
        Ok(())
    }

    pub(crate) async fn remove_data(&self, id: &str) {
        let _ = tokio::fs::remove_file(self.data_path(id)).await;
    }

    /// Store an image's data (PUT /v2/images/{id}/file): streamed to disk with its
    /// checksums, vetted, then made active. A cut connection leaves the image `killed`
    /// and no bytes; refused content leaves it `queued` (fix disk_format or the data and
    /// upload again) and no bytes.
    pub async fn image_upload(&self, ctx: &Ctx, id: &str, body: UploadBody) -> Result<Image> {
        let row = self.writable_row(ctx, id).await?;
        if row.status != "queued" {
            return Err(Error::conflict(format!(
                "Image {id} is {}; data can be uploaded only once, to a queued image.",
                row.status
            )));
        }
        let (Some(disk_format), Some(_)) = (row.disk_format.clone(), row.container_format.clone())
        else {
            return Err(Error::bad_request(
                "Set disk_format and container_format before uploading the image's data.",
            ));
        };
        if !self.set_status(ctx, id, "queued", "saving").await? {
            return Err(Error::conflict(format!(
                "Image {id} is already receiving data."
            )));
        }
        // Read again now that it is saving (its owner cannot change while data
        // arrives): an admin may have given it to another project just before, after
        // this caller's right to write it was checked.
        let authorized = row.owner;
        let row = self.row(id).await?;
        if row.owner != authorized {
            self.set_status(ctx, id, "saving", "queued").await?;
            return Err(Error::conflict(format!(
                "Image {id} was just given to project {}; its data was not taken.",
                row.owner
            )));
        }
        let part = self.staging().join(new_part_name(id));
        let mut hold = self.hold(id, &row.owner);
        match self
            .receive(ctx, &row, "saving", &part, body, &mut hold)
            .await
        {
            Ok(got) => match self
                .vet_and_activate(id, &part, &disk_format, got, &hold)
                .await
            {
                Ok(()) => {
                    self.changed(ctx, id, "active").await;
                    self.image_get(ctx, id).await
                }
                Err(e) => {
                    let _ = tokio::fs::remove_file(&part).await;
                    hold.release_all().await?;
                    self.set_status(ctx, id, "saving", "queued").await?;
                    Err(e)
                }
            },
            Err((e, cut)) => {
                let _ = tokio::fs::remove_file(&part).await;
                hold.release_all().await?;
                self.set_status(ctx, id, "saving", if cut { "killed" } else { "queued" })
                    .await?;
                Err(e)
            }
        }
    }

    /// Write the body to `part`, hashing on the way, then fsync. Errors say whether
    /// the connection was cut (true) or the data refused (false).
    ///
    /// The body's chunks (often a few KiB) are gathered into 1 MiB blocks, and each
    /// block goes to three threads at once: MD5, SHA-512 and the writer (Bytes clones
    /// are reference counts). So hashing and writing overlap with receiving instead of
    /// adding to it, each with one hand-off per MiB (docs/benchmarks.md).
    pub(crate) async fn receive(
        &self,
        ctx: &Ctx,
        // The image as it was before receiving, and the status it has while it receives.
        row: &crate::ImageRow,
        receiving: &str,
        part: &Path,
        mut body: UploadBody,
        hold: &mut crate::usage::Hold<'_>,
    ) -> std::result::Result<Received, (Error, bool)> {
        let mut opts = tokio::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        opts.mode(0o600);
        // Opened on the blocking pool, then written on the writer thread below.
        let mut file = opts
            .open(part)
            .await
            .map_err(|e| (Error::internal(e), false))?
            .into_std()
            .await;
        let md5 = Feed::spawn(|rx| digest(Digest::md5(), rx));
        let sha = Feed::spawn(|rx| digest(Digest::sha512(), rx));
        let writer = Feed::spawn(move |mut rx| -> std::io::Result<()> {
            use std::io::Write;
            while let Some(block) = rx.blocking_recv() {
                file.write_all(&block)?;
            }
            file.sync_all()
        });
        let mut size: i64 = 0;
        let mut told = 0;
        let mut block = BytesMut::new();
        let mut failed = None;
        loop {
            let next = body.next().await;
            let last = next.is_none();
            if let Some(chunk) = next {
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        failed = Some((
                            Error::bad_request(format!(
                                "The upload was cut short: {e}. The image is now killed."
                            )),
                            true,
                        ));
                        break;
                    }
                };
                size += chunk.len() as i64;
                if let Err(e) = hold.cover(size).await {
                    failed = Some((e, false));
                    break;
                }
                // Watchers (the console, whoever uploads from the CLI) learn how far it is,
                // one event per step: the total is not known in advance.
                if size / PROGRESS_STEP > told {
                    told = size / PROGRESS_STEP;
                    let ev = self
                        .event(ctx, row, "uploading")
                        .status(receiving)
                        .message(format!("{} MiB received", (told * PROGRESS_STEP) >> 20));
                    if let Err(e) = self.events.publish(ev).await {
                        tracing::warn!(image = %row.id, error = %e.detail(), "cannot publish upload progress");
                    }
                }
                block.extend_from_slice(&chunk);
            }
            if block.len() >= BLOCK || (last && !block.is_empty()) {
                let b = block.split().freeze();
                block.reserve(BLOCK);
                md5.feed(b.clone()).await;
                sha.feed(b.clone()).await;
                if !writer.feed(b).await {
                    break; // the writer stopped on an error: finish() says which
                }
            }
            if last {
                break;
            }
        }
        let written = writer.finish().await;
        let (md5, sha512) = (md5.finish().await, sha.finish().await);
        if let Some(f) = failed {
            return Err(f);
        }
        written
            .map_err(|e| (e, false))?
            .map_err(|e| (Error::internal(e), false))?;
        Ok(Received {
            size,
            md5: md5.and_then(|r| r).map_err(|e| (e, false))?,
            sha512: sha512.and_then(|r| r).map_err(|e| (e, false))?,
        })
    }

    async fn vet_and_activate(
        &self,
        id: &str,
        part: &Path,
        disk_format: &str,
        got: Received,
        hold: &crate::usage::Hold<'_>,
    ) -> Result<()> {
        let path = part.to_path_buf();
        let found = tokio::task::spawn_blocking(move || inspect::sniff(&path))
            .await
            .map_err(Error::internal)??;
        inspect::agrees(disk_format, found)?;
        let info =
            inspect::qemu_info(&self.cfg.qemu_img, self.cfg.info_limits, part, found).await?;
        // A raw image's virtual size is its size (qemu-img rounds up to whole sectors).
        let virtual_size = match found {
            inspect::Format::Raw | inspect::Format::Iso => Some(got.size),
            _ => info.virtual_size.or(Some(got.size)),
        };
        let dest = self.data_path(id);
        tokio::fs::rename(part, &dest)
            .await
            .map_err(Error::internal)?;
        // The rename is durable only once the directory is synced.
        if let Ok(d) = tokio::fs::File::open(&self.cfg.dir).await {
            let _ = d.sync_all().await;
        }
        let mut tx = self.db.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE images SET status = 'active', size = $2, virtual_size = $3, checksum = $4, \
             os_hash_algo = 'sha512', os_hash_value = $5, updated_at = $6, reserved = 0 WHERE id = $1 AND status = 'saving'",
        )
        .bind(id)
        .bind(got.size)
        .bind(virtual_size)
        .bind(&got.md5)
        .bind(&got.sha512)
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            // Deleted while it was uploading (its delete gave the bytes back).
            drop(tx);
            self.remove_data(id).await;
            return Err(Error::not_found("image", id));
        }
        hold.settle_in(&mut tx, got.size).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An image's data for download (GET /v2/images/{id}/file): the record and the
    /// file's path, or `None` when it has no data yet.
    pub async fn image_data(&self, ctx: &Ctx, id: &str) -> Result<(Image, Option<PathBuf>)> {
        let img = self.image_get(ctx, id).await?;
        match img.status.as_str() {
            "active" => {
                let p = self.data_path(id);
                Ok((img, Some(p)))
            }
            "deactivated" if !ctx.is_admin() => Err(Error::forbidden(format!(
                "Image {id} is deactivated; its data cannot be downloaded until it is reactivated."
            ))),
            "deactivated" => Ok((img, Some(self.data_path(id)))),
            _ => Ok((img, None)),
        }
    }
}

pub(crate) struct Received {
    pub(crate) size: i64,
    md5: String,
    sha512: String,
}

/// Bytes gathered before they are hashed and written.
const BLOCK: usize = 1 << 20;

/// Work on its own thread over the blocks sent to it (a digest, the file writer). The
/// channel is bounded, so a slow consumer slows the upload down instead of queueing
/// the body in memory.
struct Feed<R> {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    done: tokio::sync::oneshot::Receiver<R>,
}

impl<R: Send + 'static> Feed<R> {
    fn spawn(work: impl FnOnce(tokio::sync::mpsc::Receiver<Bytes>) -> R + Send + 'static) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let (done_tx, done) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = done_tx.send(work(rx));
        });
        Feed { tx, done }
    }

    /// Hand a block over; false once the consumer has stopped.
    async fn feed(&self, block: Bytes) -> bool {
        self.tx.send(block).await.is_ok()
    }

    /// Close the feed and wait for the result.
    async fn finish(self) -> Result<R> {
        drop(self.tx);
        self.done
            .await
            .map_err(|_| Error::internal("an upload worker thread stopped"))
    }
}

fn digest(d: Result<Digest>, mut rx: tokio::sync::mpsc::Receiver<Bytes>) -> Result<String> {
    let mut d = d?;
    while let Some(block) = rx.blocking_recv() {
        d.update(&block)?;
    }
    d.hex()
}

/// The names in a directory.
pub(crate) async fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut entries = tokio::fs::read_dir(dir).await.map_err(Error::internal)?;
    while let Some(e) = entries.next_entry().await.map_err(Error::internal)? {
        out.push(e.file_name().to_string_lossy().into_owned());
    }
    Ok(out)
}
