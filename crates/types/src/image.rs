//! Images as the image service returns them. The REST layer renders these in Glance's
//! JSON shape (custom properties at the top level); the console uses them as they are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: Option<String>,
    /// The owning project.
    pub owner: String,
    /// queued, saving, active, killed, deactivated (Glance's lifecycle).
    pub status: String,
    /// public, private, shared, community.
    pub visibility: String,
    pub protected: bool,
    pub hidden: bool,
    pub disk_format: Option<String>,
    pub container_format: Option<String>,
    pub size: Option<i64>,
    pub virtual_size: Option<i64>,
    /// MD5 of the data, hex.
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    pub min_disk: i64,
    pub min_ram: i64,
    pub tags: Vec<String>,
    /// Custom properties (`os_distro`, `hw_disk_bus`, ...).
    pub properties: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A project an image is shared with, and whether it accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMember {
    pub image_id: String,
    /// The member project's id.
    pub member_id: String,
    /// pending, accepted, rejected.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One import of an image's staged data (Glance's `api_image_import` task): its state
/// lives in the database, so it shows progress and survives a restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageTask {
    pub id: String,
    pub image_id: String,
    pub owner: String,
    pub user_id: Option<String>,
    pub request_id: Option<String>,
    /// The import method (glance-direct).
    pub method: String,
    /// pending, processing, success, failure.
    pub status: String,
    /// What it is doing now: inspect, convert, checksum, store (empty before it starts).
    pub step: String,
    /// Percent done of the current step, 0..=100.
    pub progress: i64,
    /// What happened, in words (the reason when it failed).
    pub message: String,
    pub created_at: String,
    pub updated_at: String,
}

/// What the image service accepts, in one place: the service validates against these,
/// the REST schemas list them, and the console checks them in the browser.
pub mod limits {
    pub const NAME_MAX: usize = 255;
    pub const VISIBILITIES: &[&str] = &["public", "private", "shared", "community"];
    /// The disk formats Glance accepts in `disk_format`.
    pub const DISK_FORMATS: &[&str] = &[
        "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop",
    ];
}

/// Where an image's data is kept (Glance's `locations` entry), shown only where the
/// operator turned `show_multiple_locations` on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageLocation {
    pub url: String,
    pub metadata: BTreeMap<String, String>,
}
