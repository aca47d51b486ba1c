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

/// A new name for a claimant in this process: `host/pid/random`.
pub fn new_name() -> String {
    format!(
        "{}/{}/{}",
        host_name(),
        std::process::id(),
        &ids::new_id()[..8]
    )
}

/// Whether the process that `name` (from `new_name`) stands for has certainly stopped:
/// it ran on this host and its process id is gone.
pub fn is_gone(name: &str) -> bool {
    let mut parts = name.split('/');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    host == host_name() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
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
    }
}
