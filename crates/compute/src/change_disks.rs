//! The files a change makes: a root disk grown for a resize (the old one kept for a
//! revert), a rescue disk, a snapshot's copy of the root disk and its upload into the
//! image service. Paths come from ids this service made; qemu-img runs under prlimit.

use std::path::PathBuf;

use ferrostack_core::jobs::JobFailure;
use ferrostack_core::{ids, Ctx, Error, Result};
use ferrostack_hypervisor::{DiskSpec, Hypervisor, PowerState};
use ferrostack_image::inspect::{qemu_img_command, Limits};
use ferrostack_types::compute::Host;

use crate::changes::disk_failure;
use crate::lifecycle::hv_failure;
use crate::servers::ServerRow;
use crate::Compute;

type Step<T> = std::result::Result<T, JobFailure>;

impl Compute {
    /// Grow the root disk to `gb` GiB, keeping the disk as it was for a revert.
    pub(crate) async fn grow_disk(&self, id: &str, gb: i64) -> Result<()> {
        let dir = self.instance_dir(id);
        let disk = dir.join("disk");
        let keep = dir.join("disk.pre-resize");
        if tokio::fs::metadata(&keep).await.is_err() {
            let tmp = dir.join(format!("disk.pre-resize.part-{}", &ids::new_uuid()[..8]));
            tokio::fs::copy(&disk, &tmp)
                .await
                .map_err(Error::internal)?;
            tokio::fs::rename(&tmp, &keep)
                .await
                .map_err(Error::internal)?;
        }
        let mut c = qemu_img_command(&self.cfg.qemu_img, Limits::CONVERT);
        c.args(["resize", "-q", "-f", "qcow2"])
            .arg(&disk)
            .arg(format!("{gb}G"));
        crate::disks::run(c, Limits::CONVERT, "qemu-img resize").await
    }

    /// A rescue disk: the rescue image's ISO as a cdrom, or an overlay on its base.
    pub(crate) async fn rescue_disk(&self, row: &ServerRow, image: &str) -> Result<DiskSpec> {
        let (base, iso) = self.base_of(image).await?;
        if iso {
            return Ok(DiskSpec {
                path: base.display().to_string(),
                format: "raw".into(),
                device: "cdrom".into(),
                boot: Some(1),
            });
        }
        let path = self.instance_dir(&row.id).join("disk.rescue");
        let _ = tokio::fs::remove_file(&path).await;
        let mut c = qemu_img_command(&self.cfg.qemu_img, Limits::CONVERT);
        c.args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
            .arg(&base)
            .arg(&path);
        crate::disks::run(c, Limits::CONVERT, "qemu-img create (rescue)").await?;
        Ok(DiskSpec {
            path: path.display().to_string(),
            format: "qcow2".into(),
            device: "disk".into(),
            boot: Some(1),
        })
    }

    /// A standalone copy of the server's root disk (the guest paused meanwhile, so the
    /// copy is consistent). A simulated server's disk is its image's data.
    pub(crate) async fn snapshot_file(&self, row: &ServerRow, host: &Host) -> Step<PathBuf> {
        let dir = self.instance_dir(&row.id);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(Error::internal)?;
        let out = dir.join(format!("snapshot.part-{}", &ids::new_uuid()[..8]));
        if Hypervisor::is_simulated(&host.uri) {
            let src = self
                .images
                .data_path(row.image_id.as_deref().unwrap_or_default());
            tokio::fs::copy(&src, &out).await.map_err(|e| {
                JobFailure::because("The simulated server's image could not be copied.", e)
            })?;
            return Ok(out);
        }
        let hv = self.hv.host(&host.uri);
        let paused = match hv.state(&row.id).await {
            Ok(Some(PowerState::Running)) => {
                hv.pause(&row.id)
                    .await
                    .map_err(|e| hv_failure("pause the guest", host, e))?;
                true
            }
            _ => false,
        };
        let mut c = qemu_img_command(&self.cfg.qemu_img, Limits::CONVERT);
        // -U: QEMU holds the image's lock while the guest exists; the guest is paused
        // (or off), so the copy is consistent.
        c.args(["convert", "-q", "-U", "-f", "qcow2", "-O", "qcow2"])
            .arg(dir.join("disk"))
            .arg(&out);
        let made = crate::disks::run(c, Limits::CONVERT, "qemu-img convert (snapshot)").await;
        if paused {
            hv.unpause(&row.id)
                .await
                .map_err(|e| hv_failure("unpause the guest", host, e))?;
        }
        if let Err(e) = made {
            let _ = tokio::fs::remove_file(&out).await;
            return Err(disk_failure(e));
        }
        Ok(out)
    }

    pub(crate) async fn upload_file(
        &self,
        ctx: &Ctx,
        image: &str,
        path: &std::path::Path,
    ) -> Result<()> {
        use futures_util::StreamExt;
        use tokio::io::AsyncReadExt;
        let f = tokio::fs::File::open(path).await.map_err(Error::internal)?;
        let body = futures_util::stream::unfold(f, |mut f| async move {
            let mut buf = vec![0u8; 1 << 20];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(bytes::Bytes::from(buf)), f))
                }
                Err(e) => Some((Err(e.to_string()), f)),
            }
        })
        .boxed();
        self.images.image_upload(ctx, image, body).await.map(|_| ())
    }
}
