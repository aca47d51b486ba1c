//! Files the cloud writes for itself (keys, credentials): under the data dir only,
//! private (0600), and atomic — written to a temp name, fsynced, then renamed, so a
//! crash leaves the old file or the new one, never half of one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Write `contents` to `dir/name`, mode 0600, atomically.
pub fn write_private(dir: &Path, name: &str, contents: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", tmp.display())))?;
    f.write_all(contents)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", tmp.display())))?;
    fs::rename(&tmp, dir.join(name))
        .map_err(|e| Error::internal(format!("cannot rename {}: {e}", tmp.display())))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_are_0600_and_replace_atomically() {
        let dir = std::env::temp_dir().join(format!("fs-files-{}", crate::ids::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        super::write_private(&dir, "secret", b"one").unwrap();
        super::write_private(&dir, "secret", b"two").unwrap();
        assert_eq!(std::fs::read(dir.join("secret")).unwrap(), b"two");
        let mode = std::fs::metadata(dir.join("secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.join(".secret.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
