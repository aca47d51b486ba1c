//! What an uploaded image really is, and whether it is safe to keep. Tenants upload
//! untrusted bytes that hypervisors later open: a qcow2 naming a backing file or an
//! external data file, or a VMDK whose extents are other files, would make QEMU read
//! files of the host. So before an image becomes active its header is read here (no
//! external tool touches a file we have not vetted), and only then `qemu-img info`
//! gives the virtual size and a second opinion.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use ferrostack_core::{Error, Result};

/// The formats we recognise from their bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Qcow2,
    Vmdk,
    Vhd,
    Vhdx,
    Vdi,
    Iso,
    Raw,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Qcow2 => "qcow2",
            Format::Vmdk => "vmdk",
            Format::Vhd => "vhd",
            Format::Vhdx => "vhdx",
            Format::Vdi => "vdi",
            Format::Iso => "iso",
            Format::Raw => "raw",
        }
    }

    /// The format named `name` (a conversion target), if we know it.
    pub fn from_name(name: &str) -> Option<Format> {
        [
            Format::Qcow2,
            Format::Vmdk,
            Format::Vhd,
            Format::Vhdx,
            Format::Vdi,
            Format::Iso,
            Format::Raw,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }

    /// qemu-img's name for the format (`-f`).
    pub fn qemu(self) -> &'static str {
        match self {
            Format::Vhd => "vpc",
            Format::Iso => "raw",
            other => other.name(),
        }
    }
}

pub use ferrostack_types::image::limits::DISK_FORMATS;
pub const CONTAINER_FORMATS: &[&str] = &[
    "ami",
    "ari",
    "aki",
    "bare",
    "ovf",
    "ova",
    "docker",
    "compressed",
];

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(x)
}

/// Read up to `n` bytes at `offset` (fewer at the end of the file).
fn read_at(f: &mut std::fs::File, offset: u64, n: usize) -> std::io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(n);
    f.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Detect the format of the file at `path` from its bytes, refusing the unsafe ones
/// with a message saying what was found.
pub fn sniff(path: &Path) -> Result<Format> {
    let mut f = std::fs::File::open(path).map_err(Error::internal)?;
    let head = read_at(&mut f, 0, 4096).map_err(Error::internal)?;
    if head.starts_with(b"QFI\xfb") {
        if head.len() < 104 {
            return Err(Error::bad_request(
                "The image data is not a valid qcow2 file: its header is cut short.",
            ));
        }
        let version = be32(&head, 4);
        let backing_offset = be64(&head, 8);
        let backing_len = be32(&head, 16);
        if backing_offset != 0 && backing_len != 0 {
            return Err(Error::bad_request(
                "The image is refused: it is a qcow2 with a backing file, which would make the hypervisor read \
                 another file. Upload a standalone image (qemu-img convert -O qcow2 to flatten it).",
            ));
        }
        // Incompatible feature bit 2: the guest data lives in an external data file.
        if version >= 3 && be64(&head, 72) & (1 << 2) != 0 {
            return Err(Error::bad_request(
                "The image is refused: it is a qcow2 with an external data file, which would make the hypervisor \
                 read another file. Upload a standalone image.",
            ));
        }
        return Ok(Format::Qcow2);
    }
    if head.starts_with(b"KDMV") {
        vmdk_sparse_is_safe(&mut f, &head)?;
        return Ok(Format::Vmdk);
    }
    if head.starts_with(b"# Disk DescriptorFile") {
        return Err(Error::bad_request(
            "The image is refused: it is a VMDK descriptor whose extents are separate files, which would make the \
             hypervisor read other files. Upload a monolithicSparse or streamOptimized VMDK.",
        ));
    }
    if head.starts_with(b"vhdxfile") {
        return Ok(Format::Vhdx);
    }
    if head.len() >= 68 && &head[64..68] == b"\x7f\x10\xda\xbe" {
        return Ok(Format::Vdi);
    }
    if head.starts_with(b"conectix") {
        return Ok(Format::Vhd);
    }
    // A fixed VHD keeps its footer at the very end.
    let len = f.metadata().map_err(Error::internal)?.len();
    if len >= 512 {
        let foot = read_at(&mut f, len - 512, 512).map_err(Error::internal)?;
        if foot.starts_with(b"conectix") {
            return Ok(Format::Vhd);
        }
    }
    if len >= 0x8006 {
        let pvd = read_at(&mut f, 0x8001, 5).map_err(Error::internal)?;
        if pvd == b"CD001" {
            return Ok(Format::Iso);
        }
    }
    Ok(Format::Raw)
}

/// The largest virtual disk an image may describe (4 TiB): a crafted header must not
/// make a conversion write without bound.
pub const MAX_VIRTUAL_SIZE: i64 = 1 << 42;

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn vmdk_refused(why: &str) -> Error {
    Error::bad_request(format!("The image is refused: it is a VMDK {why}."))
}

/// A sparse VMDK (KDMV header), read as QEMU reads it: the header's sizes must be in
/// range, and the descriptor QEMU reads — at the header's `desc_offset`, and at
/// sector 1, where QEMU looks for a parent (`parentFileNameHint`) whatever the header
/// says — each up to 1 MiB or the first NUL, must name no other file.
fn vmdk_sparse_is_safe(f: &mut std::fs::File, head: &[u8]) -> Result<()> {
    if head.len() < 512 {
        return Err(Error::bad_request(
            "The image data is not a valid vmdk file: its header is cut short.",
        ));
    }
    let version = le32(head, 4);
    let capacity = le64(head, 12);
    let desc_sector = le64(head, 28);
    let desc_size = le64(head, 36);
    if version == 0 || version > 3 {
        return Err(vmdk_refused(&format!(
            "of version {version}, which is not 1 to 3"
        )));
    }
    if capacity == 0 || capacity > (MAX_VIRTUAL_SIZE as u64) / 512 {
        return Err(vmdk_refused(&format!(
            "whose capacity ({capacity} sectors) is 0 or over the {} TiB limit",
            MAX_VIRTUAL_SIZE >> 40
        )));
    }
    let len = f.metadata().map_err(Error::internal)?.len();
    let mut regions = vec![512u64];
    if desc_sector != 0 {
        if desc_size == 0 || desc_size > 2048 {
            return Err(vmdk_refused(&format!(
                "whose descriptor size ({desc_size} sectors) is 0 or over 2048"
            )));
        }
        let start = desc_sector
            .checked_mul(512)
            .filter(|s| *s < len)
            .ok_or_else(|| vmdk_refused("whose descriptor lies outside the file"))?;
        regions.push(start);
    }
    for start in regions {
        if start >= len {
            continue;
        }
        let raw = read_at(f, start, 1 << 20).map_err(Error::internal)?;
        let text = raw.split(|b| *b == 0).next().unwrap_or_default();
        vmdk_descriptor_is_self_contained(&String::from_utf8_lossy(text))?;
    }
    Ok(())
}

/// The descriptor embedded in a sparse VMDK names no other file: no parent, a create
/// type of monolithicSparse or streamOptimized when one is given (Glance's rule), and
/// extent lines (split on any whitespace, as QEMU's sscanf does) only the file's own
/// single SPARSE extent, named without a path, or ZERO extents.
fn vmdk_descriptor_is_self_contained(desc: &str) -> Result<()> {
    let mut sparse = 0;
    for line in desc.lines().map(str::trim) {
        if line.starts_with("parentFileNameHint") {
            return Err(vmdk_refused("with a parent file (parentFileNameHint), which would make the hypervisor read another file"));
        }
        if let Some(t) = line.strip_prefix("createType") {
            let t = t.trim_start_matches([' ', '\t', '=']).trim_matches('"');
            if t != "monolithicSparse" && t != "streamOptimized" {
                return Err(vmdk_refused(&format!(
                    "of type {t}; only monolithicSparse and streamOptimized VMDKs are accepted"
                )));
            }
        }
        let mut words = line.split_whitespace();
        let access = words.next().unwrap_or("");
        if !["RW", "RDONLY", "NOACCESS"].contains(&access) {
            continue;
        }
        let kind = words.nth(1).unwrap_or("");
        let name = line.split('"').nth(1);
        let own = kind == "SPARSE"
            && name.is_some_and(|n| {
                !n.is_empty() && !n.contains(['/', ':', '\\']) && !n.starts_with('.')
            });
        if kind == "ZERO" && name.is_none() {
            continue;
        }
        if own {
            sparse += 1;
            if sparse == 1 {
                continue;
            }
        }
        return Err(vmdk_refused(&format!(
            "whose extent points at a file ({}), which would make the hypervisor read other files",
            line.replace('\t', " ")
        )));
    }
    Ok(())
}

/// Whether the bytes' real format agrees with the `disk_format` the user declared.
pub fn agrees(declared: &str, found: Format) -> Result<()> {
    let ok = match declared {
        "qcow2" | "vmdk" | "vhd" | "vhdx" | "vdi" => declared == found.name(),
        "iso" => found == Format::Iso,
        // Raw and the kernel/ramdisk formats are any bytes that are not a disk format
        // QEMU would interpret (an ISO is raw too).
        "raw" | "ami" | "ari" | "aki" => matches!(found, Format::Raw | Format::Iso),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "The image data is {} but disk_format says {declared}; set disk_format to {} or upload {declared} data.",
            found.name(),
            found.name()
        )))
    }
}

/// Resource limits for one qemu-img run (as OpenStack runs it: `prlimit` with an
/// address-space and a CPU-time cap, plus a wall-clock timeout here), so a crafted
/// image cannot make it eat the host's memory or run for ever.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub address_space: u64,
    pub cpu_secs: u64,
    pub wall: std::time::Duration,
}

impl Limits {
    /// `qemu-img info`: 1 GiB, 30 s of CPU (Glance's and Nova's figures), 60 s wall.
    pub const INFO: Limits = Limits {
        address_space: 1 << 30,
        cpu_secs: 30,
        wall: std::time::Duration::from_secs(60),
    };
    /// `qemu-img convert`: 2 GiB, 1 h of CPU and 2 h of wall time at most.
    pub const CONVERT: Limits = Limits {
        address_space: 2 << 30,
        cpu_secs: 3600,
        wall: std::time::Duration::from_secs(7200),
    };
}

/// A qemu-img command run under `prlimit` with `limits` (the caller adds arguments and
/// applies `limits.wall`).
pub fn qemu_img_command(qemu_img: &str, limits: Limits) -> tokio::process::Command {
    let mut c = tokio::process::Command::new("prlimit");
    c.arg(format!("--as={}", limits.address_space))
        .arg(format!("--cpu={}", limits.cpu_secs))
        .arg("--")
        .arg(qemu_img);
    c
}

/// What `qemu-img info` reports about a vetted file.
#[derive(Clone, Debug, Default)]
pub struct Info {
    pub virtual_size: Option<i64>,
}

/// Ask `qemu-img info` (with the format fixed, so it does not probe) for the virtual
/// size, and refuse the file if qemu-img sees a backing file, data file or extent file
/// that the header check missed.
pub async fn qemu_info(
    qemu_img: &str,
    limits: Limits,
    path: &Path,
    format: Format,
) -> Result<Info> {
    let run = qemu_img_command(qemu_img, limits)
        .args(["info", "--output=json", "-f", format.qemu()])
        .arg(path)
        .current_dir(path.parent().unwrap_or(Path::new("/")))
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(limits.wall, run).await {
        Ok(r) => r.map_err(|e| Error::internal(format!("cannot run {qemu_img}: {e}")))?,
        Err(_) => {
            tracing::warn!(file = %path.display(), "qemu-img info ran past its time limit and was killed");
            return Err(Error::bad_request(format!(
                "The image data is refused: reading it as {} took too long.",
                format.name()
            )));
        }
    };
    if !out.status.success() {
        // qemu-img's words can name host paths: the uploader gets ours, the log theirs.
        tracing::info!(file = %path.display(), status = %out.status, stderr = %String::from_utf8_lossy(&out.stderr).trim(), "qemu-img info refused an image");
        return Err(Error::bad_request(format!(
            "The image data is not a valid {} file.",
            format.name()
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::internal(format!("qemu-img info output: {e}")))?;
    if v.get("backing-filename").is_some() {
        return Err(Error::bad_request(
            "The image is refused: it has a backing file.",
        ));
    }
    let data = &v["format-specific"]["data"];
    if data.get("data-file").is_some() {
        return Err(Error::bad_request(
            "The image is refused: it has an external data file.",
        ));
    }
    if let Some(extents) = data.get("extents").and_then(|e| e.as_array()) {
        let own = path.to_string_lossy();
        if extents
            .iter()
            .any(|e| e["filename"].as_str().is_some_and(|f| f != own))
        {
            return Err(Error::bad_request(
                "The image is refused: it is a VMDK whose extents are other files.",
            ));
        }
    }
    let virtual_size = v["virtual-size"].as_i64();
    if virtual_size.is_some_and(|n| !(0..=MAX_VIRTUAL_SIZE).contains(&n)) {
        return Err(Error::bad_request(format!(
            "The image is refused: its virtual size is over the {} TiB limit.",
            MAX_VIRTUAL_SIZE >> 40
        )));
    }
    Ok(Info { virtual_size })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, bytes).unwrap();
        f
    }

    #[test]
    fn qcow2_headers_with_backing_or_data_files_are_refused() {
        let mut h = vec![0u8; 512];
        h[..4].copy_from_slice(b"QFI\xfb");
        h[7] = 3;
        assert_eq!(sniff(file(&h).path()).unwrap(), Format::Qcow2);
        let mut backing = h.clone();
        backing[15] = 200; // backing_file_offset
        backing[19] = 8; // backing_file_size
        assert!(sniff(file(&backing).path())
            .unwrap_err()
            .to_string()
            .contains("backing file"));
        let mut data_file = h.clone();
        data_file[79] = 4; // incompatible_features bit 2
        assert!(sniff(file(&data_file).path())
            .unwrap_err()
            .to_string()
            .contains("external data file"));
    }

    #[test]
    fn vmdk_descriptors_naming_files_are_refused() {
        let desc = b"# Disk DescriptorFile\nversion=1\nRW 2048 FLAT \"/etc/shadow\" 0\n";
        assert!(sniff(file(desc).path())
            .unwrap_err()
            .to_string()
            .contains("extents are separate files"));
        assert!(vmdk_descriptor_is_self_contained("RW 2048 FLAT \"other.vmdk\" 0").is_err());
        assert!(vmdk_descriptor_is_self_contained("RW\t2048\tFLAT\t\"/etc/passwd\"\t0").is_err());
        assert!(vmdk_descriptor_is_self_contained("RW 2048 SPARSE \"json:{}\"").is_err());
        assert!(vmdk_descriptor_is_self_contained("RW 2048 ZERO").is_ok());
        assert!(vmdk_descriptor_is_self_contained(
            "createType=\"monolithicSparse\"\nRW 2048 SPARSE \"disk.vmdk\""
        )
        .is_ok());
        assert!(vmdk_descriptor_is_self_contained("createType=\"monolithicFlat\"").is_err());
        assert!(vmdk_descriptor_is_self_contained("parentFileNameHint=\"/etc/passwd\"").is_err());
    }

    #[test]
    fn the_declared_format_must_match_the_bytes() {
        assert!(agrees("qcow2", Format::Raw)
            .unwrap_err()
            .to_string()
            .contains("The image data is raw but disk_format says qcow2"));
        assert!(agrees("raw", Format::Qcow2).is_err());
        assert!(agrees("raw", Format::Raw).is_ok());
        assert!(agrees("raw", Format::Iso).is_ok());
        assert!(agrees("iso", Format::Raw).is_err());
        assert_eq!(sniff(file(b"just some bytes").path()).unwrap(), Format::Raw);
    }
}
