//! A server's files, under `<data>/compute/instances/<server id>/`: the root disk (a
//! qcow2 overlay on the image's base file, or a blank qcow2 for an ISO, which attaches
//! as a cdrom), the config drive (an ISO labelled `config-2` with cloud-init's
//! openstack/latest files) and the serial console log. Base files live in
//! `<data>/compute/base/<image id>`, made once per image. Every step writes to a
//! temporary name and renames, so a boot resumed after a crash redoes only what was
//! not finished. Paths come from ids this service generated, never from clients.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use ferrostack_core::{ids, Ctx, Error, Result};
use ferrostack_hypervisor::DiskSpec;
use ferrostack_image::inspect::{qemu_img_command, Limits};
use serde_json::json;

use crate::servers::ServerRow;
use crate::Compute;

/// qemu-img create and convert of a base image: its memory, CPU and wall time.
const CREATE_LIMITS: Limits = Limits {
    address_space: 1 << 30,
    cpu_secs: 60,
    wall: Duration::from_secs(120),
};

pub(crate) async fn run(
    mut cmd: tokio::process::Command,
    limits: Limits,
    what: &str,
) -> Result<()> {
    cmd.kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = cmd
        .spawn()
        .map_err(|e| Error::internal(format!("{what}: {e}")))?;
    match tokio::time::timeout(limits.wall, child.wait_with_output()).await {
        Ok(Ok(o)) if o.status.success() => Ok(()),
        Ok(Ok(o)) => Err(Error::internal(format!(
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ))),
        Ok(Err(e)) => Err(Error::internal(format!("{what}: {e}"))),
        Err(_) => Err(Error::internal(format!(
            "{what}: took longer than {:?}",
            limits.wall
        ))),
    }
}

/// Directories QEMU (running as its own user) must pass through: searchable, not listable.
async fn traversable_dir(p: &Path) -> Result<()> {
    tokio::fs::create_dir_all(p)
        .await
        .map_err(|e| Error::internal(format!("{}: {e}", p.display())))?;
    tokio::fs::set_permissions(p, std::fs::Permissions::from_mode(0o711))
        .await
        .map_err(|e| Error::internal(format!("{}: {e}", p.display())))
}

fn part(path: &Path) -> PathBuf {
    path.with_extension(format!("part-{}", &ids::new_uuid()[..8]))
}

impl Compute {
    /// `<data>/compute/instances/<id>`; `id` is a server id this service made.
    pub(crate) fn instance_dir(&self, id: &str) -> PathBuf {
        self.cfg.dir.join("instances").join(id)
    }

    /// The base file of an image, made once: the ISO itself, or the image as raw.
    pub(crate) async fn base_of(&self, image_id: &str) -> Result<(PathBuf, bool)> {
        let img = self.images.image_get(&Ctx::internal(""), image_id).await?;
        let iso = img.disk_format.as_deref() == Some("iso");
        let base_dir = self.cfg.dir.join("base");
        traversable_dir(&base_dir).await?;
        let base = base_dir.join(image_id);
        if tokio::fs::metadata(&base).await.is_ok() {
            return Ok((base, iso));
        }
        let src = self.images.data_path(image_id);
        let tmp = part(&base);
        let made = if iso {
            tokio::fs::copy(&src, &tmp)
                .await
                .map(|_| ())
                .map_err(|e| Error::internal(format!("copy {}: {e}", src.display())))
        } else {
            // qemu-img's name for the format (vhd is `vpc`; ami and other
            // Amazon kinds are raw).
            let fmt = img
                .disk_format
                .as_deref()
                .and_then(ferrostack_image::inspect::Format::from_name)
                .map(|f| f.qemu())
                .unwrap_or("raw")
                .to_string();
            let mut c = qemu_img_command(&self.cfg.qemu_img, Limits::CONVERT);
            c.args(["convert", "-q", "-f", &fmt, "-O", "raw"])
                .arg(&src)
                .arg(&tmp);
            run(c, Limits::CONVERT, "qemu-img convert").await
        };
        if let Err(e) = made {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::rename(&tmp, &base)
            .await
            .map_err(|e| Error::internal(format!("rename base: {e}")))?;
        Ok((base, iso))
    }

    /// QEMU runs as its own user: every directory above the compute dir must let it
    /// pass, or the guest cannot open its disks. Say which one does not.
    fn check_reachable(&self) -> Result<()> {
        let mut dir = self.cfg.dir.parent();
        while let Some(d) = dir {
            if let Ok(meta) = std::fs::metadata(d) {
                if meta.permissions().mode() & 0o001 == 0 {
                    return Err(Error::Unavailable {
                        message: format!(
                            "QEMU cannot reach the servers' disks: {} is not searchable by other users (chmod o+x {} or move the data dir).",
                            d.display(),
                            d.display()
                        ),
                        retry_after: 0,
                    });
                }
            }
            dir = d.parent();
        }
        Ok(())
    }

    /// Make the server's disks (what exists is kept) and say how to attach them.
    pub(crate) async fn prepare_disks(&self, row: &ServerRow) -> Result<Vec<DiskSpec>> {
        self.check_reachable()?;
        let flavor = row.flavor()?;
        let dir = self.instance_dir(&row.id);
        traversable_dir(&self.cfg.dir).await?;
        traversable_dir(&self.cfg.dir.join("instances")).await?;
        traversable_dir(&dir).await?;
        let image_id = row
            .image_id
            .clone()
            .ok_or_else(|| Error::bad_request("The server has no image."))?;
        let (base, iso) = self.base_of(&image_id).await?;
        let root = dir.join("disk");
        if tokio::fs::metadata(&root).await.is_err() {
            let tmp = part(&root);
            let mut c = qemu_img_command(&self.cfg.qemu_img, CREATE_LIMITS);
            c.args(["create", "-q", "-f", "qcow2"]);
            if !iso {
                c.arg("-F").arg("raw").arg("-b").arg(&base);
            }
            c.arg(&tmp);
            if flavor.disk > 0 || iso {
                c.arg(format!("{}G", flavor.disk.max(1)));
            }
            if let Err(e) = run(c, CREATE_LIMITS, "qemu-img create").await {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
            tokio::fs::rename(&tmp, &root)
                .await
                .map_err(|e| Error::internal(format!("rename disk: {e}")))?;
        }
        let mut disks = vec![DiskSpec {
            path: root.display().to_string(),
            format: "qcow2".into(),
            device: "disk".into(),
            boot: Some(if iso { 2 } else { 1 }),
        }];
        if iso {
            disks.push(DiskSpec {
                path: base.display().to_string(),
                format: "raw".into(),
                device: "cdrom".into(),
                boot: Some(1),
            });
        }
        if let Some(cd) = self.config_drive(row).await? {
            disks.push(DiskSpec {
                path: cd.display().to_string(),
                format: "raw".into(),
                device: "cdrom".into(),
                boot: None,
            });
        }
        Ok(disks)
    }

    /// The config drive, when the server asked for one or has user data or a key.
    async fn config_drive(&self, row: &ServerRow) -> Result<Option<PathBuf>> {
        let (user_data, key): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT user_data, key_data FROM servers WHERE id = $1")
                .bind(&row.id)
                .fetch_one(&self.db.pool)
                .await?;
        if row.config_drive == 0 && user_data.is_none() && key.is_none() {
            return Ok(None);
        }
        let dir = self.instance_dir(&row.id);
        let iso = dir.join("disk.config");
        if tokio::fs::metadata(&iso).await.is_ok() {
            return Ok(Some(iso));
        }
        let tree = dir.join(format!("config-{}", &ids::new_uuid()[..8]));
        let latest = tree.join("openstack").join("latest");
        tokio::fs::create_dir_all(&latest)
            .await
            .map_err(Error::internal)?;
        let mut keys = serde_json::Map::new();
        if let (Some(k), Some(name)) = (&key, &row.key_name) {
            keys.insert(name.clone(), json!(k));
        }
        let meta = json!({
            "uuid": row.id,
            "name": row.name,
            "hostname": row.name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect::<String>(),
            "project_id": row.project_id,
            "availability_zone": row.availability_zone,
            "launch_index": row.launch_index,
            "meta": serde_json::from_str::<serde_json::Value>(&row.metadata).unwrap_or(json!({})),
            "public_keys": keys,
            "keys": key.as_ref().map(|k| vec![json!({"name": row.key_name, "type": "ssh", "data": k})]).unwrap_or_default(),
        });
        let write = |p: PathBuf, b: Vec<u8>| async move {
            tokio::fs::write(p, b).await.map_err(Error::internal)
        };
        write(latest.join("meta_data.json"), meta.to_string().into_bytes()).await?;
        // Networking fills in links and networks once ports exist.
        write(
            latest.join("network_data.json"),
            json!({"links": [], "networks": [], "services": []})
                .to_string()
                .into_bytes(),
        )
        .await?;
        if let Some(u) = &user_data {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(u)
                .map_err(Error::internal)?;
            write(latest.join("user_data"), bytes).await?;
        }
        let tmp = part(&iso);
        let mut c = tokio::process::Command::new("xorriso");
        c.args([
            "-as", "mkisofs", "-quiet", "-V", "config-2", "-J", "-R", "-o",
        ])
        .arg(&tmp)
        .arg(&tree);
        let made = run(c, CREATE_LIMITS, "xorriso (config drive)").await;
        let _ = tokio::fs::remove_dir_all(&tree).await;
        made?;
        tokio::fs::rename(&tmp, &iso)
            .await
            .map_err(Error::internal)?;
        Ok(Some(iso))
    }

    /// Remove the server's files (idempotent).
    pub(crate) async fn remove_files(&self, id: &str) -> Result<()> {
        match tokio::fs::remove_dir_all(self.instance_dir(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::internal(format!("remove {}: {e}", id))),
        }
    }
}
