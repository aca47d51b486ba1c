//! Nova's states: `vm_state` (what the server is), `task_state` (what is being done to
//! it) and the `status` clients see, derived from both as Nova's `_STATE_MAP` does.

pub const BUILDING: &str = "building";
pub const ACTIVE: &str = "active";
pub const STOPPED: &str = "stopped";
pub const PAUSED: &str = "paused";
pub const SUSPENDED: &str = "suspended";
pub const ERROR: &str = "error";
pub const RESIZED: &str = "resized";
pub const RESCUED: &str = "rescued";
pub const SHELVED: &str = "shelved";
pub const SHELVED_OFFLOADED: &str = "shelved_offloaded";

// task states
pub const SCHEDULING: &str = "scheduling";
pub const SPAWNING: &str = "spawning";
pub const DELETING: &str = "deleting";
pub const POWERING_OFF: &str = "powering-off";
pub const POWERING_ON: &str = "powering-on";
pub const REBOOTING: &str = "rebooting";
pub const REBOOTING_HARD: &str = "rebooting_hard";
pub const PAUSING: &str = "pausing";
pub const UNPAUSING: &str = "unpausing";
pub const SUSPENDING: &str = "suspending";
pub const RESUMING: &str = "resuming";
pub const RESIZE_PREP: &str = "resize_prep";
pub const RESIZE_MIGRATING: &str = "resize_migrating";
pub const RESIZE_REVERTING: &str = "resize_reverting";
pub const REBUILDING: &str = "rebuilding";
pub const RESCUING: &str = "rescuing";
pub const UNRESCUING: &str = "unrescuing";
pub const SHELVING: &str = "shelving";
pub const SHELVING_OFFLOADING: &str = "shelving_offloading";
pub const UNSHELVING: &str = "unshelving";
pub const IMAGE_SNAPSHOT: &str = "image_snapshot";
pub const MIGRATING: &str = "migrating";

fn resizing(t: Option<&str>) -> bool {
    matches!(t, Some(RESIZE_PREP) | Some(RESIZE_MIGRATING))
}

/// The `status` of a server in `vm_state` doing `task_state`.
pub fn status(vm_state: &str, task_state: Option<&str>) -> &'static str {
    match (vm_state, task_state) {
        (_, Some(DELETING)) if vm_state != ERROR => "ACTIVE",
        (BUILDING, _) => "BUILD",
        (ACTIVE, Some(REBOOTING)) => "REBOOT",
        (ACTIVE, Some(REBOOTING_HARD)) => "HARD_REBOOT",
        (ACTIVE | STOPPED | ERROR, Some(REBUILDING)) => "REBUILD",
        (ACTIVE | STOPPED, t) if resizing(t) => "RESIZE",
        (ACTIVE | PAUSED, Some(MIGRATING)) => "MIGRATING",
        (ACTIVE, _) => "ACTIVE",
        (STOPPED, Some(REBOOTING_HARD)) => "HARD_REBOOT",
        (STOPPED, _) => "SHUTOFF",
        (PAUSED, _) => "PAUSED",
        (SUSPENDED, _) => "SUSPENDED",
        (RESIZED, Some(RESIZE_REVERTING)) => "REVERT_RESIZE",
        (RESIZED, _) => "VERIFY_RESIZE",
        (RESCUED, _) => "RESCUE",
        (SHELVED, _) => "SHELVED",
        (SHELVED_OFFLOADED, _) => "SHELVED_OFFLOADED",
        (ERROR, _) => "ERROR",
        _ => "UNKNOWN",
    }
}

/// The vm_states a `status` filter names (Nova's reverse map; `?status=ACTIVE`).
pub fn vm_states_of(status: &str) -> Option<&'static [&'static str]> {
    Some(match status.to_ascii_uppercase().as_str() {
        "BUILD" => &[BUILDING],
        "ACTIVE" | "REBOOT" | "HARD_REBOOT" => &[ACTIVE],
        "SHUTOFF" => &[STOPPED],
        "PAUSED" => &[PAUSED],
        "SUSPENDED" => &[SUSPENDED],
        "ERROR" => &[ERROR],
        "RESIZE" | "MIGRATING" | "REBUILD" => &[ACTIVE, STOPPED],
        "VERIFY_RESIZE" | "REVERT_RESIZE" => &[RESIZED],
        "RESCUE" => &[RESCUED],
        "SHELVED" => &[SHELVED],
        "SHELVED_OFFLOADED" => &[SHELVED_OFFLOADED],
        _ => return None,
    })
}

/// Nova's statuses, for a filter's error message.
pub const STATUSES: &[&str] = &[
    "ACTIVE",
    "BUILD",
    "ERROR",
    "HARD_REBOOT",
    "MIGRATING",
    "PAUSED",
    "REBOOT",
    "REBUILD",
    "RESCUE",
    "RESIZE",
    "REVERT_RESIZE",
    "SHELVED",
    "SHELVED_OFFLOADED",
    "SHUTOFF",
    "SUSPENDED",
    "VERIFY_RESIZE",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_nova() {
        assert_eq!(status(BUILDING, Some(SCHEDULING)), "BUILD");
        assert_eq!(status(ACTIVE, None), "ACTIVE");
        assert_eq!(status(ACTIVE, Some(POWERING_OFF)), "ACTIVE");
        assert_eq!(status(ACTIVE, Some(REBOOTING_HARD)), "HARD_REBOOT");
        assert_eq!(status(STOPPED, None), "SHUTOFF");
        assert_eq!(status(ERROR, Some(DELETING)), "ERROR");
        assert_eq!(vm_states_of("shutoff"), Some(&[STOPPED][..]));
        assert_eq!(vm_states_of("NOPE"), None);
        assert_eq!(status(ACTIVE, Some(RESIZE_MIGRATING)), "RESIZE");
        assert_eq!(status(RESIZED, None), "VERIFY_RESIZE");
        assert_eq!(status(RESIZED, Some(RESIZE_REVERTING)), "REVERT_RESIZE");
        assert_eq!(status(STOPPED, Some(REBUILDING)), "REBUILD");
        assert_eq!(status(RESCUED, None), "RESCUE");
        assert_eq!(
            status(SHELVED_OFFLOADED, Some(UNSHELVING)),
            "SHELVED_OFFLOADED"
        );
    }
}
