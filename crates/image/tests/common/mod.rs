//! What the image service's tests share: callers, bodies, images, files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use std::sync::Arc;

use ferrostack_core::db::Db;
use ferrostack_core::{Ctx, Platform};
use ferrostack_image::{ImageConfig, Images, NewImage, UploadBody};

/// A caller holding `role` in `project` (core's test constructor).
pub fn ctx(project: &str, role: &str) -> Ctx {
    Ctx::for_test(project, role)
}

pub fn body(chunks: Vec<Result<Vec<u8>, String>>) -> UploadBody {
    Box::pin(futures_util::stream::iter(
        chunks.into_iter().map(|c| c.map(Bytes::from)),
    ))
}

pub fn bytes(data: Vec<u8>) -> UploadBody {
    body(data.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect())
}

pub fn new(name: &str, disk: &str) -> NewImage {
    NewImage {
        name: Some(name.into()),
        disk_format: Some(disk.into()),
        container_format: Some("bare".into()),
        ..Default::default()
    }
}

pub fn qemu_img(args: &[&str], cwd: &Path) {
    let out = Command::new("qemu-img")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("qemu-img is installed");
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// An image service over a fresh database and data dir.
pub struct T {
    pub images: Arc<Images>,
    pub db: Db,
    pub platform: Platform,
    pub dir: tempfile::TempDir,
}

pub async fn setup() -> T {
    let platform = Platform::for_tests().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let images = Images::open(&platform, ImageConfig::new(dir.path().join("images")))
        .await
        .unwrap();
    T {
        images,
        db: platform.db.clone(),
        platform,
        dir,
    }
}
