//! Which accelerator a local host should use. `/dev/kvm` existing is not enough: a
//! machine has been seen whose (nested) KVM ran guests several times slower than TCG.
//! The probe boots the same 512-byte guest — a counting loop, then a write to QEMU's
//! isa-debug-exit port — under TCG, then under KVM with twice TCG's time, and picks
//! KVM only when it works and is faster (on the machine above KVM had not finished
//! after 30 s where TCG took 0.6 s). It runs once, when a host is registered; the
//! choice is stored on the host row and logged.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The probe guest: real-mode code at 0x7c00.
fn boot_sector() -> Vec<u8> {
    let mut s = vec![
        0x66, 0xB9, 0x00, 0x00, 0x00, 0x08, // mov ecx, 0x08000000
        0x66, 0x49, // dec ecx
        0x75, 0xFC, // jnz dec
        0xB0, 0x00, // mov al, 0
        0xE6, 0xF4, // out 0xf4, al  (isa-debug-exit: QEMU exits with status 1)
        0xF4, // hlt
        0xEB, 0xFD, // jmp hlt
    ];
    s.resize(510, 0);
    s.extend_from_slice(&[0x55, 0xAA]);
    s
}

/// What the probe found.
#[derive(Clone, Debug)]
pub struct Probe {
    /// `kvm` or `qemu` (TCG).
    pub virt_type: String,
    pub kvm_ms: Option<u64>,
    pub tcg_ms: Option<u64>,
    pub why: String,
}

async fn run(qemu: &str, image: &Path, accel: &str, limit: Duration) -> Option<u64> {
    let started = Instant::now();
    let child = tokio::process::Command::new(qemu)
        .args([
            "-machine",
            &format!("pc,accel={accel}"),
            "-m",
            "16",
            "-display",
            "none",
            "-nodefaults",
            "-no-user-config",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive",
            &format!("file={},format=raw,if=ide,snapshot=on", image.display()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let out = tokio::time::timeout(limit, child.wait_with_output()).await;
    match out {
        // isa-debug-exit with 0 exits with status (0 << 1) | 1.
        Ok(Ok(o)) if o.status.code() == Some(1) => Some(started.elapsed().as_millis() as u64),
        _ => None,
    }
}

/// Probe the local machine (`qemu` is the system emulator's path).
pub async fn local(qemu: &str, scratch: &Path) -> Probe {
    let image = scratch.join(format!("kvm-probe-{}.img", std::process::id()));
    if let Err(e) = std::fs::write(&image, boot_sector()) {
        return Probe {
            virt_type: "qemu".into(),
            kvm_ms: None,
            tcg_ms: None,
            why: format!("cannot write the probe image ({e}); using TCG"),
        };
    }
    // TCG first: KVM only needs to beat it, so it gets twice TCG's time and a second.
    let tcg = run(qemu, &image, "tcg", Duration::from_secs(30)).await;
    let kvm_limit = Duration::from_millis(tcg.unwrap_or(14_000) * 2 + 1000);
    let kvm = if Path::new("/dev/kvm").exists() {
        run(qemu, &image, "kvm", kvm_limit).await
    } else {
        None
    };
    let _ = std::fs::remove_file(&image);
    let (virt_type, why) = match (kvm, tcg) {
        (Some(k), Some(t)) if k < t => ("kvm", format!("KVM works and is faster ({k} ms against TCG's {t} ms)")),
        (Some(k), Some(t)) => ("qemu", format!("KVM works but is slower ({k} ms against TCG's {t} ms); using TCG")),
        (Some(k), None) => ("kvm", format!("KVM works ({k} ms); TCG did not finish")),
        (None, _) if !Path::new("/dev/kvm").exists() => ("qemu", "no /dev/kvm; using TCG".to_string()),
        (None, Some(t)) => ("qemu", format!("/dev/kvm exists but the KVM probe did not finish within {} ms (TCG: {t} ms); using TCG", kvm_limit.as_millis())),
        (None, None) => ("qemu", "neither KVM nor TCG ran the probe guest; using TCG".to_string()),
    };
    Probe {
        virt_type: virt_type.into(),
        kvm_ms: kvm,
        tcg_ms: tcg,
        why,
    }
}
