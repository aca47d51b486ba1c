//! The bare argon2id verify rate at the default parameters, on every core: the ceiling
//! for password token issue (docs/benchmarks.md compares the two).
//! Run: cargo bench -p ferrostack-identity --bench argon2_verify

use std::time::{Duration, Instant};

use ferrostack_identity::passwords::{hash_blocking, verify_blocking, PasswordParams};

fn main() {
    let params = PasswordParams::default();
    let hash = hash_blocking(&params, "bench-password").expect("hash");
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let run_for = Duration::from_secs(20);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while start.elapsed() < run_for {
                    assert!(verify_blocking(&hash, "bench-password"));
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "argon2id m={} KiB t={} p={}: {} verifies in {:.1} s on {} threads = {:.1} verifies/s",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        total,
        secs,
        threads,
        total as f64 / secs
    );
}
