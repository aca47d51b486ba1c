//! The server's log file, `<data>/logs/ferrostack.log` (beside standard error), so that
//! `ferrostack trace REQUEST_ID` can find every line a request caused: each line of a
//! request's work carries its id (the request span; a job's span carries the id of the
//! request that queued it). Bounded: past 64 MiB the file moves to `.1` (one kept).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

const ROTATE_AT: u64 = 64 << 20;

struct Open {
    path: PathBuf,
    file: std::fs::File,
    written: u64,
}

static FILE: OnceLock<Mutex<Open>> = OnceLock::new();

/// Where the log of a data dir lives.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("logs").join("ferrostack.log")
}

/// Start writing the log file of `data_dir` (lines before this go to standard error
/// only).
pub fn open(data_dir: &Path) -> Result<(), String> {
    let p = path(data_dir);
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let file = open_append(&p)?;
    let written = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = FILE.set(Mutex::new(Open {
        path: p,
        file,
        written,
    }));
    Ok(())
}

fn open_append(p: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(p)
        .map_err(|e| format!("cannot open the log {}: {e}", p.display()))
}

/// The tracing writer for the file (a no-op until [`open`]).
pub struct LogFile;

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(m) = FILE.get() {
            if let Ok(mut o) = m.lock() {
                if o.written + buf.len() as u64 > ROTATE_AT {
                    let old = o.path.with_extension("log.1");
                    let _ = std::fs::rename(&o.path, old);
                    if let Ok(f) = open_append(&o.path) {
                        o.file = f;
                        o.written = 0;
                    }
                }
                o.written += buf.len() as u64;
                let _ = o.file.write_all(buf);
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Lines of the log files (the older one first) that mention `needle`.
pub fn grep(data_dir: &Path, needle: &str) -> Vec<String> {
    let p = path(data_dir);
    let mut out = Vec::new();
    for f in [p.with_extension("log.1"), p] {
        if let Ok(text) = std::fs::read_to_string(&f) {
            out.extend(
                text.lines()
                    .filter(|l| l.contains(needle))
                    .map(str::to_string),
            );
        }
    }
    out
}
