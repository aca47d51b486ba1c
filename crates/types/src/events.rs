//! Resource events: what the services publish after each change, stored (a console
//! that reconnects asks for what it missed) and pushed to the console over
//! server-sent events.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the cloud's event history (the SSE `id`, for Last-Event-ID).
    pub seq: i64,
    pub at: String,
    /// The project the resource belongs to (`None`: the cloud's own).
    pub project_id: Option<String>,
    /// Every signed-in user may see it (a public image's changes).
    pub public: bool,
    /// The resource kind: `image`, `job`, ...
    pub kind: String,
    pub resource_id: String,
    /// What happened: `created`, `updated`, `deleted`, `progress`, `failed`, ...
    pub action: String,
    /// The resource's status after the change (`active`, `importing`, ...).
    pub status: String,
    /// Percent done of long work, when the event reports progress.
    pub progress: Option<i64>,
    /// In words, for a timeline ("Converting raw to qcow2: 40%.").
    pub message: String,
    /// The request that caused it (`x-openstack-request-id`), when one did.
    pub request_id: Option<String>,
    pub user_id: Option<String>,
    pub user_name: String,
}
