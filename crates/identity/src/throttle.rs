//! Failed password logins per client address: past [`MAX_FAILURES`] in a minute, an
//! address is told to wait (429 with Retry-After) before its guesses are checked at
//! all. This is what slows guessing at accounts that never lock (the bootstrap admin,
//! `ignore_lockout_failure_attempts`) and keeps one address from locking many users.
//! In memory, per process, bounded in size.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 20;
const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most (older windows are dropped first).
const MAX_ADDRESSES: usize = 50_000;

#[derive(Default)]
pub struct Throttle {
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    /// Seconds `addr` must wait before another password is checked, if any.
    pub fn wait(&self, addr: IpAddr) -> Option<u64> {
        let seen = self.seen.lock().ok()?;
        let (start, n) = seen.get(&addr)?;
        let left = WINDOW.checked_sub(start.elapsed())?;
        (*n >= MAX_FAILURES).then(|| left.as_secs().max(1))
    }

    /// `addr` failed a password login.
    pub fn failed(&self, addr: IpAddr) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        if seen.len() >= MAX_ADDRESSES {
            seen.retain(|_, (start, _)| start.elapsed() < WINDOW);
            if seen.len() >= MAX_ADDRESSES {
                seen.clear();
            }
        }
        let e = seen.entry(addr).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= WINDOW {
            *e = (Instant::now(), 0);
        }
        e.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_too_many_failures_others_do_not() {
        let t = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert_eq!(t.wait(a), None);
            t.failed(a);
        }
        assert!(t.wait(a).is_some_and(|s| (1..=60).contains(&s)));
        assert_eq!(t.wait(b), None);
    }
}
