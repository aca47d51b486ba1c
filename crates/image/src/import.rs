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

use ferrostack_core::{ids, time, Ctx, Error, Result};
use ferrostack_types::image::{Image, ImageTask};

use crate::digest::Digest;
use crate::store::UploadBody;
use crate::{inspect, new_part_name, Images};

/// The import methods this cloud offers. `web-download` would fetch from anywhere on
/// the network and `copy-image` needs several stores; neither is offered.
pub const IMPORT_METHODS: &[&str] = &["glance-direct"];

/// Formats the operator may ask imports to be converted to.
pub const CONVERT_TARGETS: &[&str] = &["raw", "qcow2"];

const TASK_COLUMNS: &str = "SELECT id, image_id, owner, user_id, request_id, method, status, step, progress, message, created_at, updated_at FROM image_tasks";

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: String,
    image_id: String,
    owner: String,
    user_id: Option<String>,
    request_id: Option<String>,
    method: String,
    status: String,
    step: String,
    progress: i64,
    message: String,
    created_at: String,
    updated_at: String,
}

impl From<TaskRow> for ImageTask {
    fn from(r: TaskRow) -> Self {
        ImageTask {
            id: r.id,
            image_id: r.image_id,
            owner: r.owner,
            user_id: r.user_id,
            request_id: r.request_id,
            method: r.method,
            status: r.status,
            step: r.step,
            progress: r.progress,
            message: r.message,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Why a task failed, in words for the user; the image goes back to `queued`.
struct Failed(String);

impl Images {
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
        let waiting: Vec<String> =
            sqlx::query_scalar("SELECT id FROM images WHERE status IN ('uploading', 'importing')")
                .fetch_all(&self.db.pool)
                .await?;
        let mut entries = tokio::fs::read_dir(&dir).await.map_err(Error::internal)?;
        let mut present = Vec::new();
        while let Some(e) = entries.next_entry().await.map_err(Error::internal)? {
            let name = e.file_name().to_string_lossy().into_owned();
            if waiting.contains(&name) {
                present.push(name);
            } else {
                tracing::warn!(file = %e.path().display(), "removing staged data no import waits for");
                let _ = tokio::fs::remove_file(e.path()).await;
            }
        }
        for id in waiting.iter().filter(|id| !present.contains(id)) {
            tracing::warn!(image = %id, "staged data is gone: the image is queued again");
            sqlx::query(
                "UPDATE images SET status = 'queued', size = NULL, updated_at = $2 WHERE id = $1 AND status IN ('uploading', 'importing')",
            )
            .bind(id)
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await?;
            sqlx::query(
                "UPDATE image_tasks SET status = 'failure', message = $2, updated_at = $3 \
                 WHERE image_id = $1 AND status IN ('pending', 'processing')",
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
        let room = self.cfg.quota_bytes - self.used_bytes(&row.owner).await?;
        if !self.set_status(id, "queued", "uploading").await? {
            return Err(Error::conflict(format!(
                "Image {id} is already receiving data."
            )));
        }
        let part = self.staging().join(new_part_name(id));
        let staged = self.staged_path(id);
        let kept = match self.receive(&part, body, room).await {
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
                self.set_status(id, "uploading", "queued").await?;
                return Err(e);
            }
        };
        if let Ok(d) = tokio::fs::File::open(self.staged_dir()).await {
            let _ = d.sync_all().await;
        }
        // Staged bytes count against the project's storage quota (the size column is
        // what the quota sums) until the import replaces them or fails.
        sqlx::query("UPDATE images SET size = $2 WHERE id = $1 AND status = 'uploading'")
            .bind(id)
            .bind(staged_size)
            .execute(&self.db.pool)
            .await?;
        // Deleted while staging: nothing waits for these bytes.
        if self.row(id).await.is_err() {
            let _ = tokio::fs::remove_file(&staged).await;
            return Err(Error::not_found("image", id));
        }
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
        let task_id = ids::new_uuid();
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
        sqlx::query(
            "INSERT INTO image_tasks (id, image_id, owner, user_id, request_id, method, status, message, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 'Waiting for its turn.', $7, $7)",
        )
        .bind(&task_id)
        .bind(id)
        .bind(&row.owner)
        .bind(&ctx.user_id)
        .bind(&ctx.request_id)
        .bind(method)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
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
        tx.commit().await?;
        self.jobs.notify_one();
        self.task(&task_id).await
    }

    async fn task(&self, id: &str) -> Result<ImageTask> {
        sqlx::query_as::<_, TaskRow>(&format!("{TASK_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .map(ImageTask::from)
            .ok_or_else(|| Error::not_found("task", id))
    }

    /// An image's import tasks, newest first (GET /v2/images/{id}/tasks).
    pub async fn image_tasks(&self, ctx: &Ctx, id: &str) -> Result<Vec<ImageTask>> {
        self.writable_row(ctx, id).await?;
        let rows = sqlx::query_as::<_, TaskRow>(&format!(
            "{TASK_COLUMNS} WHERE image_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(rows.into_iter().map(ImageTask::from).collect())
    }

    /// One task (GET /v2/tasks/{id}): its project's members and admins see it.
    pub async fn task_get(&self, ctx: &Ctx, id: &str) -> Result<ImageTask> {
        let t = self.task(id).await?;
        if ctx.is_admin() || ctx.project_id() == Some(t.owner.as_str()) {
            Ok(t)
        } else {
            Err(Error::not_found("task", id))
        }
    }

    /// Run import tasks in the background, one at a time (conversion is heavy work):
    /// first those a restart interrupted, then each new one as it arrives.
    pub fn start_jobs(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            if let Err(e) = me.requeue_interrupted().await {
                tracing::error!(error = %e.detail(), "cannot requeue interrupted image imports");
            }
            loop {
                match me.claim_next().await {
                    Ok(Some(task)) => me.run(task).await,
                    Ok(None) => me.jobs.notified().await,
                    Err(e) => {
                        tracing::error!(error = %e.detail(), "image import worker");
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    }
                }
            }
        });
    }

    async fn requeue_interrupted(&self) -> Result<()> {
        let n = sqlx::query(
            "UPDATE image_tasks SET status = 'pending', step = '', progress = 0, \
             message = 'Interrupted by a restart; starting again.', updated_at = $1 WHERE status = 'processing'",
        )
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await?
        .rows_affected();
        if n > 0 {
            tracing::warn!(
                tasks = n,
                "image imports interrupted by a restart are starting again"
            );
        }
        Ok(())
    }

    /// The oldest pending task, claimed (pending → processing) so nothing else runs it.
    async fn claim_next(&self) -> Result<Option<ImageTask>> {
        loop {
            let next: Option<String> = sqlx::query_scalar(
                "SELECT id FROM image_tasks WHERE status = 'pending' ORDER BY created_at, id LIMIT 1",
            )
            .fetch_optional(&self.db.pool)
            .await?;
            let Some(id) = next else { return Ok(None) };
            let claimed = sqlx::query(
                "UPDATE image_tasks SET status = 'processing', message = 'Started.', updated_at = $2 \
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(&id)
            .bind(time::to_db(&time::now()))
            .execute(&self.db.pool)
            .await?
            .rows_affected();
            if claimed == 1 {
                return self.task(&id).await.map(Some);
            }
        }
    }

    async fn progress(&self, task: &str, step: &str, percent: i64, message: &str) {
        let r = sqlx::query(
            "UPDATE image_tasks SET step = $2, progress = $3, message = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(task)
        .bind(step)
        .bind(percent.clamp(0, 100))
        .bind(message)
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "cannot record import progress");
        }
    }

    async fn finish(&self, task: &str, status: &str, message: &str) -> Result<()> {
        sqlx::query(
            "UPDATE image_tasks SET status = $2, message = $3, progress = CASE WHEN $2 = 'success' THEN 100 ELSE progress END, \
             updated_at = $4 WHERE id = $1",
        )
        .bind(task)
        .bind(status)
        .bind(message)
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    async fn run(&self, task: ImageTask) {
        let id = task.image_id.clone();
        tracing::info!(image = %id, task = %task.id, "importing image");
        let outcome = self.import_steps(&task).await;
        let result = match outcome {
            Ok(msg) => self.finish(&task.id, "success", &msg).await,
            Err(Failed(msg)) => {
                tracing::info!(image = %id, reason = %msg, "image import failed");
                let _ = tokio::fs::remove_file(self.staged_path(&id)).await;
                let back = sqlx::query(
                    "UPDATE images SET status = 'queued', size = NULL, updated_at = $2 \
                     WHERE id = $1 AND status = 'importing'",
                )
                .bind(&id)
                .bind(time::to_db(&time::now()))
                .execute(&self.db.pool)
                .await;
                match back {
                    Ok(_) => self.finish(&task.id, "failure", &msg).await,
                    Err(e) => Err(e.into()),
                }
            }
        };
        if let Err(e) = result {
            // The row stays 'processing' and is retried after the next restart.
            tracing::error!(image = %id, error = %e.detail(), "cannot record the end of an import");
        }
    }

    /// Inspect, convert, checksum, store. Returns what was done, in words.
    async fn import_steps(&self, task: &ImageTask) -> std::result::Result<String, Failed> {
        let id = &task.image_id;
        let ours = |e: Error| Failed(e.to_string());
        let row = match self.row(id).await {
            Ok(r) => r,
            Err(_) => {
                return Err(Failed(
                    "The image was deleted before its import ran.".into(),
                ))
            }
        };
        if row.status == "active" {
            // Finished just before a restart; only the task row missed it.
            return Ok("Imported.".into());
        }
        if row.status != "importing" {
            return Err(Failed(format!(
                "The image is {}, not importing.",
                row.status
            )));
        }
        let staged = self.staged_path(id);
        let disk_format = row.disk_format.clone().unwrap_or_default();

        self.progress(&task.id, "inspect", 0, "Inspecting the staged data.")
            .await;
        let path = staged.clone();
        let found = tokio::task::spawn_blocking(move || inspect::sniff(&path))
            .await
            .map_err(|e| ours(Error::internal(e)))?
            .map_err(ours)?;
        inspect::agrees(&disk_format, found).map_err(ours)?;
        let info = inspect::qemu_info(&self.cfg.qemu_img, &staged, found)
            .await
            .map_err(ours)?;

        // Convert when the operator asked for a format and this is another one. ISOs are
        // kept as they are: they boot as CD-ROMs, not as disks.
        let target = self
            .cfg
            .convert_to
            .clone()
            .filter(|t| t != found.name() && found != inspect::Format::Iso);
        // Room left in the project's storage quota, not counting this image's staged
        // bytes (they are replaced by what is stored).
        let used = self.used_bytes(&row.owner).await.map_err(ours)?;
        let room = self.cfg.quota_bytes - (used - row.size.unwrap_or(0));
        if let (Some(t), Some(v)) = (&target, info.virtual_size) {
            // A raw conversion writes the whole virtual disk: refuse before doing it.
            if t == "raw" && v > room {
                return Err(Failed(format!(
                    "Converted to raw the image would be {v} bytes; the project's image storage quota has {} bytes free.",
                    room.max(0)
                )));
            }
        }
        let mut done = format!("Imported {} data.", found.name());
        let (file, final_format, virtual_size) = match &target {
            None => (
                staged.clone(),
                disk_format.clone(),
                match found {
                    inspect::Format::Raw | inspect::Format::Iso => None,
                    _ => info.virtual_size,
                },
            ),
            Some(t) => {
                let out = self.staging().join(new_part_name(id));
                if let Err(e) = self.convert(&task.id, &staged, found, t, &out).await {
                    let _ = tokio::fs::remove_file(&out).await;
                    return Err(e);
                }
                let converted = inspect::Format::from_name(t)
                    .ok_or_else(|| Failed(format!("Unknown conversion target {t}.")))?;
                let vinfo = inspect::qemu_info(&self.cfg.qemu_img, &out, converted)
                    .await
                    .map_err(ours)?;
                done = format!("Imported {} data, converted to {t}.", found.name());
                (out, t.clone(), vinfo.virtual_size)
            }
        };
        // Removes a converted file that will not be stored (the staged one stays).
        let cleanup = |f: PathBuf| {
            let converted = f != staged;
            async move {
                if converted {
                    let _ = tokio::fs::remove_file(f).await;
                }
            }
        };

        self.progress(&task.id, "checksum", 0, "Computing checksums.")
            .await;
        let path = file.clone();
        let sums = tokio::task::spawn_blocking(move || checksums(&path))
            .await
            .map_err(|e| ours(Error::internal(e)))
            .and_then(|r| r.map_err(ours));
        let (size, md5, sha512) = match sums {
            Ok(s) => s,
            Err(e) => {
                cleanup(file.clone()).await;
                return Err(e);
            }
        };
        if size > room {
            cleanup(file.clone()).await;
            return Err(Failed(format!(
                "The imported image is {size} bytes; the project's image storage quota has {} bytes free.",
                room.max(0)
            )));
        }

        self.progress(&task.id, "store", 0, "Storing the image.")
            .await;
        let virtual_size = virtual_size.or(Some(size));
        // Unconverted data is linked into place, so the staged file stays until the row
        // says active: a crash before that finds it and runs the import again.
        let dest = self.data_path(id);
        let placed = if file == staged {
            tokio::fs::hard_link(&file, &dest).await
        } else {
            tokio::fs::rename(&file, &dest).await
        };
        if let Err(e) = placed {
            cleanup(file.clone()).await;
            return Err(ours(Error::internal(e)));
        }
        if let Ok(d) = tokio::fs::File::open(&self.cfg.dir).await {
            let _ = d.sync_all().await;
        }
        let r = sqlx::query(
            "UPDATE images SET status = 'active', size = $2, virtual_size = $3, checksum = $4, \
             os_hash_algo = 'sha512', os_hash_value = $5, disk_format = $6, updated_at = $7 \
             WHERE id = $1 AND status = 'importing'",
        )
        .bind(id)
        .bind(size)
        .bind(virtual_size)
        .bind(&md5)
        .bind(&sha512)
        .bind(&final_format)
        .bind(time::to_db(&time::now()))
        .execute(&self.db.pool)
        .await;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                self.remove_data(id).await;
                return Err(ours(e.into()));
            }
        };
        if r.rows_affected() != 1 {
            self.remove_data(id).await;
            return Err(Failed(
                "The image was deleted while it was imported.".into(),
            ));
        }
        let _ = tokio::fs::remove_file(&staged).await;
        Ok(done)
    }

    /// `qemu-img convert -p`, its progress recorded in the task as it goes.
    async fn convert(
        &self,
        task: &str,
        src: &Path,
        from: inspect::Format,
        to: &str,
        out: &Path,
    ) -> std::result::Result<(), Failed> {
        let what = format!("Converting {} to {to}", from.name());
        self.progress(task, "convert", 0, &format!("{what}.")).await;
        let mut child = tokio::process::Command::new(&self.cfg.qemu_img)
            .args(["convert", "-p", "-f", from.qemu(), "-O", to])
            .arg(src)
            .arg(out)
            .current_dir(&self.cfg.dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                Failed(Error::internal(format!("cannot run qemu-img: {e}")).to_string())
            })?;
        // Progress lines look like "    (42.01/100%)\r".
        if let Some(stdout) = child.stdout.take() {
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
                        self.progress(task, "convert", p, &format!("{what}: {p}%."))
                            .await;
                    }
                }
                buf.clear();
            }
        }
        let output = child
            .wait_with_output()
            .await
            .map_err(|e| Failed(Error::internal(e).to_string()))?;
        if !output.status.success() {
            return Err(Failed(format!(
                "Conversion to {to} failed: qemu-img says {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let f = tokio::fs::File::open(out)
            .await
            .map_err(|e| Failed(Error::internal(e).to_string()))?;
        f.sync_all()
            .await
            .map_err(|e| Failed(Error::internal(e).to_string()))?;
        Ok(())
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
