//! Interoperable import (Glance's `stage` + `import`, method `glance-direct`), as a
//! durable job.
//!
//! `stage` streams the data to `staging/` and renames it to `staged/<id>` (image
//! status `uploading`). `import` records a task row and moves the image to `importing`
//! in one transaction; the worker then inspects the staged bytes, converts them with
//! `qemu-img convert` when the operator configured a target format, computes the
//! checksums of what will be stored, and moves the result into place (`active`). Every
//! step's state is in the task row, so the console shows progress and a restart picks
//! the task up again from the staged file, which is removed only once the image is
//! active. A failed import says why in the task's message and leaves the image
//! `queued` (stage again), as Glance does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::AsyncBufReadExt;

use ferrostack_core::events::NewEvent;
use ferrostack_core::jobs::{self, JobFailure, JobRun, NewJob};
use ferrostack_core::{time, Ctx, Error, Result};
use ferrostack_types::image::{Image, ImageTask};

use crate::digest::Digest;
use crate::store::UploadBody;
use crate::{inspect, new_part_name, Images};

/// The import methods this cloud offers. `web-download` would fetch from anywhere on
/// the network and `copy-image` needs several stores; neither is offered.
pub const IMPORT_METHODS: &[&str] = &["glance-direct"];

const CONVERTED: &str = ".converted";

/// Formats the operator may ask imports to be converted to.
pub const CONVERT_TARGETS: &[&str] = &["raw", "qcow2"];

/// The job kind of an import (its rows in `jobs` are Glance's import tasks).
pub(crate) const JOB_KIND: &str = "image.import";

/// Why an import failed: for the user, with the cause for the log when there is one.
type Failed = JobFailure;

fn failed(msg: impl Into<String>) -> Failed {
    JobFailure::user(msg)
}

impl Images {
    /// Where an import keeps its conversion once done (`staged/<id>.converted`), so a
    /// job taken over after that step does not convert again.
    fn converted_path(&self, id: &str) -> PathBuf {
        self.staged_dir().join(format!("{id}{CONVERTED}"))
    }

    fn staged_dir(&self) -> PathBuf {
        self.cfg.dir.join("staged")
    }

    /// Where an image's staged data waits for its import. Ids are UUIDs.
    pub(crate) fn staged_path(&self, id: &str) -> PathBuf {
        self.staged_dir().join(id)
    }

    /// After a crash: staged files whose image no longer waits for an import are
    /// removed, and images left `uploading` without staged data go back to `queued`.
    pub(crate) async fn recover_staged(&self) -> Result<()> {
        let dir = self.staged_dir();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(Error::internal)?;
        // The files first, then the rows (see `recover`).
        let files = crate::store::list_dir(&dir).await?;
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, status, receiver FROM images WHERE status IN ('uploading', 'importing')",
        )
        .fetch_all(&self.db.pool)
        .await?;
        // A stage still arriving in another process has no staged file yet: not lost.
        let arriving: Vec<String> = rows
            .iter()
            .filter(|(_, status, r)| status == "uploading" && !self.receiver_gone(r.as_deref()))
            .map(|(id, _, _)| id.clone())
            .collect();
        let waiting: Vec<String> = rows.into_iter().map(|(id, _, _)| id).collect();
        let mut present = Vec::new();
        for name in files {
            let id = name.strip_suffix(CONVERTED).unwrap_or(&name).to_string();
            if waiting.contains(&id) {
                if id == name {
                    present.push(name);
                }
            } else {
                let path = dir.join(&name);
                tracing::warn!(file = %path.display(), "removing staged data no import waits for");
                let _ = tokio::fs::remove_file(path).await;
            }
        }
        for id in waiting
            .iter()
            .filter(|id| !present.contains(id) && !arriving.contains(id))
        {
            tracing::warn!(image = %id, "staged data is gone: the image is queued again");
            self.requeue(id, &["uploading", "importing"]).await?;
            sqlx::query(
                "UPDATE jobs SET state = 'failed', message = $2, lease_owner = NULL, updated_at = $3 \
                 WHERE kind = 'image.import' AND subject = $1 AND state IN ('pending', 'running')",
            )
            .bind(id)
            .bind("The staged data was lost in a restart; stage the image again.")
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await?;
        }
        Ok(())
    }

    /// Stage an image's data for a later import (PUT /v2/images/{id}/stage): streamed
    /// like an upload, kept aside, and the image becomes `uploading`. A cut connection
    /// or refused data leaves it `queued` and no bytes.
    pub async fn image_stage(&self, ctx: &Ctx, id: &str, body: UploadBody) -> Result<Image> {
        let row = self.writable_row(ctx, id).await?;
        if row.status != "queued" {
            return Err(Error::conflict(format!(
                "Image {id} is {}; data can be staged only for a queued image.",
                row.status
            )));
        }
        if !self.set_status(ctx, id, "queued", "uploading").await? {
            return Err(Error::conflict(format!(
                "Image {id} is already receiving data."
            )));
        }
        // Read again now that it is uploading (its owner cannot change while data
        // arrives): an admin may have given it to another project just before, after
        // this caller's right to write it was checked.
        let authorized = row.owner;
        let row = self.row(id).await?;
        if row.owner != authorized {
            self.set_status(ctx, id, "uploading", "queued").await?;
            return Err(Error::conflict(format!(
                "Image {id} was just given to project {}; its data was not taken.",
                row.owner
            )));
        }
        let part = self.staging().join(new_part_name(id));
        let staged = self.staged_path(id);
        let mut hold = self.hold(id, &row.owner);
        let kept = match self
            .receive(ctx, &row, "uploading", &part, body, &mut hold)
            .await
        {
            Ok(got) => tokio::fs::rename(&part, &staged)
                .await
                .map(|_| got.size)
                .map_err(Error::internal),
            Err((e, _cut)) => Err(e),
        };
        let staged_size = match kept {
            Ok(n) => n,
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                hold.release_all().await?;
                self.set_status(ctx, id, "uploading", "queued").await?;
                return Err(e);
            }
        };
        sync_dir(&self.staged_dir()).await;
        // Staged bytes count against the project's storage quota (in `size`) until the
        // import replaces them or fails.
        let mut tx = self.db.pool.begin().await?;
        let kept = sqlx::query(
            "UPDATE images SET size = $2, reserved = 0 WHERE id = $1 AND status = 'uploading'",
        )
        .bind(id)
        .bind(staged_size)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if kept != 1 {
            // Deleted while staging: nothing waits for these bytes (and its delete
            // gave them back).
            drop(tx);
            let _ = tokio::fs::remove_file(&staged).await;
            return Err(Error::not_found("image", id));
        }
        hold.settle_in(&mut tx, staged_size).await?;
        tx.commit().await?;
        self.image_get(ctx, id).await
    }

    /// Start importing staged data (POST /v2/images/{id}/import). Returns the task;
    /// the work happens in the background (see `start_jobs`).
    pub async fn image_import(&self, ctx: &Ctx, id: &str, method: &str) -> Result<ImageTask> {
        if !IMPORT_METHODS.contains(&method) {
            return Err(Error::bad_request(format!(
                "Import method {method:?} is not offered by this cloud; use {}.",
                IMPORT_METHODS.join(", ")
            )));
        }
        let row = self.writable_row(ctx, id).await?;
        if row.disk_format.is_none() || row.container_format.is_none() {
            return Err(Error::bad_request(
                "Set disk_format and container_format before importing the image.",
            ));
        }
        let staged = tokio::fs::try_exists(self.staged_path(id))
            .await
            .unwrap_or(false);
        if row.status != "uploading" || !staged {
            return Err(Error::conflict(format!(
                "Image {id} is {}; glance-direct imports data staged first (PUT /v2/images/{id}/stage).",
                row.status
            )));
        }
        let now = time::to_db(&time::now());
        let mut tx = self.db.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE images SET status = 'importing', updated_at = $2 WHERE id = $1 AND status = 'uploading'",
        )
        .bind(id)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Err(Error::conflict(format!(
                "Image {id} is already being imported."
            )));
        }
        let job = NewJob {
            kind: JOB_KIND.into(),
            subject_kind: crate::KIND.into(),
            subject: id.to_string(),
            project_id: Some(row.owner.clone()),
            payload: serde_json::json!({ "method": method }),
            message: "Waiting for its turn.".into(),
        };
        let task_id = self.jobs.enqueue(&mut tx, ctx, job).await?;
        sqlx::query(
            "DELETE FROM image_properties WHERE image_id = $1 AND name = 'os_glance_import_task'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO image_properties (image_id, name, value) VALUES ($1, 'os_glance_import_task', $2)",
        )
        .bind(id)
        .bind(&task_id)
        .execute(&mut *tx)
        .await?;
        let ev =
            NewEvent::new(ctx, Some(&row.owner), crate::KIND, id, "importing").status("importing");
        self.events.record(&mut tx, ev).await?;
        tx.commit().await?;
        self.jobs.wake(JOB_KIND);
        self.task(&task_id).await
    }

    /// Run imports as jobs of this process's runner, one at a time here (conversion
    /// is heavy work; other processes sharing the database run their own).
    pub fn start_jobs(self: &Arc<Self>) {
        // An import given up (its workers kept dying mid-way) frees its image too.
        let me = self.clone();
        self.jobs.on_give_up(JOB_KIND, move |job| {
            let me = me.clone();
            async move {
                if let Err(e) = me.give_back(&job.ctx(), &job.subject).await {
                    tracing::error!(image = %job.subject, error = %e.detail(), "cannot free the image of a given-up import");
                }
            }
        });
        let me = self.clone();
        self.jobs.register(JOB_KIND, crate::KIND, 1, move |run| {
            let me = me.clone();
            async move { me.run(run).await }
        });
    }

    async fn run(&self, mut run: JobRun) -> jobs::Outcome {
        let id = run.job.subject.clone();
        let ctx = run.job.ctx();
        match self.import_steps(&mut run).await {
            Ok(msg) => {
                self.changed(&ctx, &id, "active").await;
                Ok(msg)
            }
            Err(f) => {
                if f.is_lost() {
                    return Err(f);
                }
                if let Err(e) = self.give_back(&ctx, &id).await {
                    return Err(JobFailure::because(
                        f.message,
                        format!("cannot put the image back to queued: {e}"),
                    ));
                }
                Err(f)
            }
        }
    }

    /// An import that failed or was given up: its staged and converted data removed,
    /// the image back to `queued` with its bytes given back to the quota.
    async fn give_back(&self, ctx: &Ctx, id: &str) -> Result<()> {
        // Only an image that was still importing: one staged again since (an undo that
        // ran twice) keeps its new data.
        if self.requeue(id, &["importing"]).await? {
            let _ = tokio::fs::remove_file(self.staged_path(id)).await;
            let _ = tokio::fs::remove_file(self.converted_path(id)).await;
            self.changed(ctx, id, "queued").await;
        }
        Ok(())
    }

    /// Put an image whose staged data is gone back to `queued`, giving its staged
    /// bytes back to the quota (if it is still in one of `from`: whether it was).
    async fn requeue(&self, id: &str, from: &[&str]) -> Result<bool> {
        use ferrostack_core::db::{Arg, Sql};
        let mut tx = self.db.pool.begin().await?;
        // Lock the row first (a write: SQLite's writer lock, PostgreSQL's row lock),
        // then read what it holds, then change it: one step for parallel callers.
        sqlx::query("UPDATE images SET updated_at = updated_at WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let mut read = Sql::new("SELECT owner, size, reserved FROM images WHERE id = ");
        read.bind(Arg::Text(id.to_string()));
        read.push(" AND status IN ").in_list(from.iter().copied());
        let before: Option<(String, Option<i64>, i64)> =
            read.query_as().fetch_optional(&mut *tx).await?;
        let Some((owner, size, reserved)) = before else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE images SET status = 'queued', size = NULL, reserved = 0, updated_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(time::to_db(&time::now()))
        .execute(&mut *tx)
        .await?;
        crate::usage::release_row(&mut tx, &owner, size, reserved).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Record progress; a lost lease stops the job.
    async fn progress(
        &self,
        run: &JobRun,
        step: &str,
        percent: i64,
        message: &str,
    ) -> std::result::Result<(), Failed> {
        run.progress(step, percent, message)
            .await
            .map_err(Failed::from)
    }

    /// Inspect, convert, checksum, store; each finished step is recorded in the job,
    /// so a job taken over (its worker killed) resumes after the last one. Returns what
    /// was done, in words.
    async fn import_steps(&self, run: &mut JobRun) -> std::result::Result<String, Failed> {
        let id = run.job.subject.clone();
        let row = match self.row(&id).await {
            Ok(r) => r,
            Err(_) => return Err(failed("The image was deleted before its import ran.")),
        };
        if row.status == "active" {
            // Finished just before a crash; only the job row missed it.
            return Ok("Imported.".into());
        }
        if row.status != "importing" {
            return Err(failed(format!(
                "The image is {}, not importing.",
                row.status
            )));
        }
        let staged = self.staged_path(&id);
        let converted = self.converted_path(&id);
        let disk_format = row.disk_format.clone().unwrap_or_default();

        // Room left in the project's storage quota, not counting this image's staged
        // bytes (they are replaced by what is stored).
        let used = self.used_bytes(&row.owner).await?;
        let room = self.cfg.quota_bytes - (used - row.size.unwrap_or(0) - row.reserved);

        let resumed =
            run.job.step == "converted" && tokio::fs::try_exists(&converted).await.unwrap_or(false);
        let (file, final_format, virtual_size, done) = if resumed {
            let p = run.job.payload_value();
            let t = p["target"].as_str().unwrap_or_default().to_string();
            let from = p["format"].as_str().unwrap_or_default().to_string();
            tracing::info!(image = %id, "resuming an import after its conversion");
            let vsize = p["virtual_size"].as_i64();
            (
                converted.clone(),
                t.clone(),
                vsize,
                format!("Imported {from} data, converted to {t}."),
            )
        } else {
            self.progress(run, "inspect", 0, "Inspecting the staged data.")
                .await?;
            let path = staged.clone();
            let found = tokio::task::spawn_blocking(move || inspect::sniff(&path))
                .await
                .map_err(|e| Failed::from(Error::internal(e)))??;
            inspect::agrees(&disk_format, found)?;
            let info = inspect::qemu_info(&self.cfg.qemu_img, self.cfg.info_limits, &staged, found)
                .await?;
            // Convert when the operator asked for a format and this is another one. ISOs
            // are kept as they are: they boot as CD-ROMs, not as disks.
            let target = self
                .cfg
                .convert_to
                .clone()
                .filter(|t| t != found.name() && found != inspect::Format::Iso);
            if let (Some(t), Some(v)) = (&target, info.virtual_size) {
                // A raw conversion writes the whole virtual disk: refuse before doing it.
                if t == "raw" && v > room {
                    return Err(failed(format!(
                        "Converted to raw the image would be {v} bytes; the project's image storage quota has {} bytes free.",
                        room.max(0)
                    )));
                }
            }
            match &target {
                None => (
                    staged.clone(),
                    disk_format.clone(),
                    match found {
                        inspect::Format::Raw | inspect::Format::Iso => None,
                        _ => info.virtual_size,
                    },
                    format!("Imported {} data.", found.name()),
                ),
                Some(t) => {
                    let out = self.staging().join(format!("{id}.convert.part"));
                    // A conversion a killed worker left half done starts again.
                    let _ = tokio::fs::remove_file(&out).await;
                    if let Err(e) = self.convert(run, &staged, found, t, &out).await {
                        let _ = tokio::fs::remove_file(&out).await;
                        return Err(e);
                    }
                    let to = inspect::Format::from_name(t)
                        .ok_or_else(|| failed(format!("Unknown conversion target {t}.")))?;
                    let vinfo =
                        inspect::qemu_info(&self.cfg.qemu_img, self.cfg.info_limits, &out, to)
                            .await?;
                    tokio::fs::rename(&out, &converted)
                        .await
                        .map_err(|e| Failed::from(Error::internal(e)))?;
                    sync_dir(&self.staged_dir()).await;
                    run.checkpoint(
                        "converted",
                        serde_json::json!({"target": t, "format": found.name(), "virtual_size": vinfo.virtual_size}),
                    )
                    .await?;
                    (
                        converted.clone(),
                        t.clone(),
                        vinfo.virtual_size,
                        format!("Imported {} data, converted to {t}.", found.name()),
                    )
                }
            }
        };

        self.progress(run, "checksum", 0, "Computing checksums.")
            .await?;
        let path = file.clone();
        let (size, md5, sha512) = tokio::task::spawn_blocking(move || checksums(&path))
            .await
            .map_err(|e| Failed::from(Error::internal(e)))??;
        if size > room {
            return Err(failed(format!(
                "The imported image is {size} bytes; the project's image storage quota has {} bytes free.",
                room.max(0)
            )));
        }

        self.progress(run, "store", 0, "Storing the image.").await?;
        let virtual_size = virtual_size.or(Some(size));
        // Linked into place, so the staged (or converted) file stays until the row says
        // active: a crash before that finds it and runs the step again.
        let dest = self.data_path(&id);
        let _ = tokio::fs::remove_file(&dest).await;
        tokio::fs::hard_link(&file, &dest)
            .await
            .map_err(|e| Failed::from(Error::internal(e)))?;
        sync_dir(&self.cfg.dir).await;
        // Active, with the stored size replacing the staged one in the quota, in one
        // transaction.
        let staged_size = row.size.unwrap_or(0);
        let activated = async {
            let mut tx = self.db.pool.begin().await?;
            // Only while this worker still holds the job (fenced by its claim).
            run.fence(&mut tx).await?;
            let r = sqlx::query(
                "UPDATE images SET status = 'active', size = $2, virtual_size = $3, checksum = $4, \
                 os_hash_algo = 'sha512', os_hash_value = $5, disk_format = $6, updated_at = $7 \
                 WHERE id = $1 AND status = 'importing'",
            )
            .bind(&id)
            .bind(size)
            .bind(virtual_size)
            .bind(&md5)
            .bind(&sha512)
            .bind(&final_format)
            .bind(time::to_db(&time::now()))
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() != 1 {
                return Ok(false);
            }
            if size > staged_size {
                ferrostack_core::quotas::claim(
                    &mut tx,
                    &row.owner,
                    crate::usage::QUOTA_BYTES,
                    size - staged_size,
                    self.cfg.quota_bytes,
                )
                .await?;
            } else if staged_size > size {
                ferrostack_core::quotas::release(
                    &mut tx,
                    &row.owner,
                    crate::usage::QUOTA_BYTES,
                    staged_size - size,
                )
                .await?;
            }
            tx.commit().await?;
            Ok::<_, Error>(true)
        }
        .await;
        match activated {
            Ok(true) => {}
            Ok(false) => {
                self.remove_data(&id).await;
                return Err(failed("The image was deleted while it was imported."));
            }
            Err(Error::QuotaExceeded { used, limit, .. }) => {
                self.remove_data(&id).await;
                return Err(failed(format!(
                    "The imported image is {size} bytes; the project's image storage quota has {} bytes free.",
                    (limit - used + staged_size).max(0)
                )));
            }
            Err(e) => {
                let f = Failed::from(e);
                // A worker that lost the job touches nothing: the data may be its
                // successor's by now.
                if !f.is_lost() {
                    self.remove_data(&id).await;
                }
                return Err(f);
            }
        }
        let _ = tokio::fs::remove_file(&staged).await;
        let _ = tokio::fs::remove_file(&converted).await;
        Ok(done)
    }

    /// `qemu-img convert -p`, its progress recorded in the job as it goes.
    async fn convert(
        &self,
        run: &JobRun,
        src: &Path,
        from: inspect::Format,
        to: &str,
        out: &Path,
    ) -> std::result::Result<(), Failed> {
        let what = format!("Converting {} to {to}", from.name());
        self.progress(run, "convert", 0, &format!("{what}."))
            .await?;
        let mut child = inspect::qemu_img_command(&self.cfg.qemu_img, self.cfg.convert_limits)
            .args(["convert", "-p", "-f", from.qemu(), "-O", to])
            .arg(src)
            .arg(out)
            .current_dir(&self.cfg.dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                JobFailure::because(
                    "The conversion tool could not be started.",
                    format!("cannot run qemu-img: {e}"),
                )
            })?;
        let stdout = child.stdout.take();
        let follow = async {
            // Progress lines look like "    (42.01/100%)\r".
            if let Some(stdout) = stdout {
                let mut reader = tokio::io::BufReader::new(stdout);
                let mut buf = Vec::new();
                let mut last = -1;
                while let Ok(n) = reader.read_until(b'\r', &mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let line = String::from_utf8_lossy(&buf);
                    if let Some(p) = line
                        .trim()
                        .strip_prefix('(')
                        .and_then(|s| s.split('/').next())
                        .and_then(|s| s.parse::<f64>().ok())
                    {
                        let p = p as i64;
                        if p >= last + 5 || p == 100 {
                            last = p;
                            self.progress(run, "convert", p, &format!("{what}: {p}%."))
                                .await?;
                        }
                    }
                    buf.clear();
                }
            }
            child
                .wait_with_output()
                .await
                .map_err(|e| Failed::from(Error::internal(e)))
        };
        let output = match tokio::time::timeout(self.cfg.convert_limits.wall, follow).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(failed(format!(
                    "Conversion to {to} took longer than {} minutes and was stopped.",
                    self.cfg.convert_limits.wall.as_secs() / 60
                )))
            }
        };
        if !output.status.success() {
            // qemu-img's own words can name host paths: they go to the log only.
            return Err(JobFailure::because(
                format!(
                    "Conversion to {to} failed: the data could not be read as {}.",
                    from.name()
                ),
                format!(
                    "qemu-img convert exited with {}: {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            ));
        }
        let f = tokio::fs::File::open(out)
            .await
            .map_err(|e| Failed::from(Error::internal(e)))?;
        f.sync_all()
            .await
            .map_err(|e| Failed::from(Error::internal(e)))?;
        Ok(())
    }
}

async fn sync_dir(dir: &Path) {
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
}

/// Size, MD5 and SHA-512 of a file, read in 1 MiB blocks.
fn checksums(path: &Path) -> Result<(i64, String, String)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(Error::internal)?;
    let (mut md5, mut sha) = (Digest::md5()?, Digest::sha512()?);
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0i64;
    loop {
        let n = f.read(&mut buf).map_err(Error::internal)?;
        if n == 0 {
            break;
        }
        size += n as i64;
        md5.update(&buf[..n])?;
        sha.update(&buf[..n])?;
    }
    Ok((size, md5.hex()?, sha.hex()?))
}
