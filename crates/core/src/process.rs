//! Names for this process in what it claims (job leases, uploads in flight): `host/pid/
//! random`, and whether the process a name stands for is gone. Liveness is knowable
//! only on the same host (by `/proc/<pid>`); a name from another host is taken as alive
//! (its own restart, or a lease running out, frees what it held).

use crate::ids;

/// This machine's host name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// A new name for a claimant in this process: `host/pid/start/random`, where `start`
/// is the process's start (boot id and start time), so a later process that reuses the
/// pid — a restarted container's server is pid 1 again — is told apart.
pub fn new_name() -> String {
    let pid = std::process::id();
    format!(
        "{}/{pid}/{}/{}",
        host_name(),
        start_of(&pid.to_string()).unwrap_or_default(),
        &ids::new_id()[..8]
    )
}

/// When process `pid` of this host started: the boot's id and its start time in clock
/// ticks since boot (field 22 of /proc/<pid>/stat). None if it does not run.
fn start_of(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after its end.
    let after = stat.rsplit_once(')')?.1;
    let start = after.split_whitespace().nth(19)?;
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    Some(format!("{}-{start}", boot.trim().get(..8).unwrap_or("")))
}

/// Whether the process that `name` (from `new_name`) stands for has certainly stopped:
/// it ran on this host and its pid is gone or now belongs to a later process.
pub fn is_gone(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    let (Some(host), Some(pid)) = (parts.first(), parts.get(1)) else {
        return false;
    };
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) || *host != host_name() {
        return false;
    }
    match start_of(pid) {
        None => true,
        // `host/pid/start/random`; older names (`host/pid/random`) carry no start.
        Some(now) => parts.len() == 4 && parts[2] != now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_hosts_stopped_processes_are_gone() {
        assert!(!is_gone(&new_name()), "this process runs");
        let host = host_name();
        assert!(is_gone(&format!("{host}/999999999/abcd")));
        assert!(
            !is_gone("another-host/999999999/abcd"),
            "cannot tell: alive"
        );
        assert!(!is_gone(&format!("{host}/../x")), "not a pid");
        // This pid, but an earlier process's start: a restart that reused the pid.
        let pid = std::process::id();
        assert!(is_gone(&format!("{host}/{pid}/0000-1/abcd")));
        assert!(!is_gone(&new_name()), "a second name of this process");
    }
}
