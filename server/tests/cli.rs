//! The `ferrostack` binary's commands, run as a user runs them.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

fn ferrostack(data_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrostack"))
        .args(args)
        .env("FERROSTACK_DATA_DIR", data_dir)
        .env_remove("FERROSTACK_ADMIN_PASSWORD")
        .env_remove("FERROSTACK_DATABASE_URL")
        .env_remove("FERROSTACK_CONFIG")
        .env("FERROSTACK_LOG", "warn")
        .output()
        .expect("run ferrostack")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["bootstrap", "--help"],
        vec!["db", "--help"],
        vec!["db", "migrate", "--help"],
        vec!["keys", "--help"],
        vec!["keys", "rotate", "--help"],
        vec!["keys", "credential-rotate", "--help"],
        vec!["keys", "credential-migrate", "--help"],
        vec!["host", "--help"],
        vec!["host", "add", "--help"],
    ] {
        let o = ferrostack(dir.path(), &args);
        assert!(o.status.success(), "{args:?}");
        let text = stdout(&o);
        assert!(text.contains("Usage: ferrostack"), "{args:?}: {text}");
        assert!(
            text.contains("--data-dir"),
            "{args:?} must document --data-dir: {text}"
        );
    }
    let o = ferrostack(dir.path(), &["serve", "--help"]);
    assert!(stdout(&o).contains("--listen") && stdout(&o).contains("FERROSTACK_LISTEN"));
}

#[test]
fn bootstrap_generates_credentials_once_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = ferrostack(&data, &["bootstrap"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let openrc = data.join("admin-openrc.sh");
    let first = std::fs::read_to_string(&openrc).unwrap();
    assert!(first.contains("export OS_USERNAME=admin") && first.contains("export OS_PASSWORD="));
    assert_eq!(
        std::fs::metadata(&openrc).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(data.join("clouds.yaml"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // The data dir is traversable (QEMU reaches <data>/compute), never listable, and
    // nothing in it is anyone else's to read.
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o711
    );
    for entry in std::fs::read_dir(&data).unwrap().flatten() {
        let mode = entry.metadata().unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{} is open to others: {mode:o}",
            entry.path().display()
        );
    }
    // The generated password is shown once, on the run that made it.
    let shown = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(shown.contains("generated, shown once"), "{shown}");
    // A second run keeps it and shows nothing.
    let again = ferrostack(&data, &["bootstrap"]);
    assert!(again.status.success());
    assert!(!String::from_utf8_lossy(&again.stdout).contains("generated"));
    assert_eq!(std::fs::read_to_string(&openrc).unwrap(), first);
    // A password given for an existing admin changes nothing...
    let o = ferrostack(&data, &["bootstrap", "--admin-password", "chosen-pw-1"]);
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(&openrc).unwrap(), first);
    // ...unless a reset is asked for.
    let o = ferrostack(
        &data,
        &[
            "bootstrap",
            "--admin-password",
            "chosen-pw-1",
            "--reset-admin-password",
        ],
    );
    assert!(o.status.success());
    assert!(std::fs::read_to_string(&openrc)
        .unwrap()
        .contains("export OS_PASSWORD='chosen-pw-1'"));
}

#[test]
fn db_migrate_and_keys_rotate_report_what_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = ferrostack(&data, &["db", "migrate"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Every crate's migrations (each crate owns its own: crates/core/migrations/README.md).
    let migrations: usize = ["core", "identity", "image", "compute", "network"]
        .iter()
        .map(|c| {
            std::fs::read_dir(format!(
                "{}/../crates/{c}/migrations",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
            })
            .count()
        })
        .sum();
    assert!(migrations >= 2);
    let expected = format!("{migrations} migration(s) applied");
    assert!(stdout(&o).contains(&expected), "{}", stdout(&o));
    assert!(data.join("ferrostack.db").exists());
    let o = ferrostack(&data, &["keys", "rotate"]);
    assert!(o.status.success());
    let o = ferrostack(&data, &["keys", "rotate"]);
    assert!(
        stdout(&o).contains("key 3 is now primary"),
        "{}",
        stdout(&o)
    );
    let keys: Vec<_> = std::fs::read_dir(data.join("fernet-keys"))
        .unwrap()
        .collect();
    assert_eq!(keys.len(), 3, "staged + primary + one secondary");
    // The credential keys rotate on their own (the refusal while credentials are
    // behind: the identity crate's credential_keys.rs).
    let o = ferrostack(&data, &["keys", "credential-rotate"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout(&o).contains("credential keys rotated: key 2 is now primary"),
        "{}",
        stdout(&o)
    );
    let o = ferrostack(&data, &["keys", "credential-migrate"]);
    assert!(
        stdout(&o).contains("0 credential(s) re-encrypted"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read_dir(data.join("credential-keys"))
            .unwrap()
            .count(),
        3
    );
}

#[test]
fn a_config_file_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("from-file");
    let cfg = dir.path().join("ferrostack.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\n[identity]\ntoken_ttl_secs = 600\n",
            from_file.display().to_string()
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ferrostack"))
        .args(["--config", cfg.to_str().unwrap(), "db", "migrate"])
        .env_remove("FERROSTACK_DATA_DIR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(from_file.join("ferrostack.db").exists());
    let flag = dir.path().join("from-flag");
    let o = Command::new(env!("CARGO_BIN_EXE_ferrostack"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--data-dir",
            flag.to_str().unwrap(),
            "db",
            "migrate",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(flag.join("ferrostack.db").exists());
    // A typo in the file is refused with the reason, not ignored.
    std::fs::write(&cfg, "data_dri = \"/tmp/x\"\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ferrostack"))
        .args(["--config", cfg.to_str().unwrap(), "db", "migrate"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("data_dri"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn hosts_are_added_listed_disabled_and_enabled_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = dir.path().join("sim.xml");
    std::fs::write(&node, ferrostack_compute::simulated_node_xml(6, 12288)).unwrap();
    let uri = format!("test://{}", node.display());
    let o = ferrostack(
        &data,
        &[
            "host",
            "add",
            "--name",
            "sim-a",
            "--uri",
            &uri,
            "--az",
            "zone1",
            "--disk-gb",
            "200",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout(&o).contains("host sim-a added: test"),
        "{}",
        stdout(&o)
    );
    let list = stdout(&ferrostack(&data, &["host", "list"]));
    // Capacity from the node file, under the default ratios (4 for CPUs).
    for want in [
        "sim-a",
        "zone1",
        "0/24  vCPU",
        "0/12288   MiB",
        "0/200   GiB",
        "up",
    ] {
        assert!(list.contains(want), "{want:?} not in {list}");
    }
    let o = ferrostack(
        &data,
        &["host", "disable", "sim-a", "--reason", "maintenance"],
    );
    assert!(o.status.success());
    let list = stdout(&ferrostack(&data, &["host", "list"]));
    assert!(
        list.contains("disabled") && list.contains("maintenance"),
        "{list}"
    );
    assert!(ferrostack(&data, &["host", "enable", "sim-a"])
        .status
        .success());
    assert!(stdout(&ferrostack(&data, &["host", "list"])).contains(" up "));
    // Refusals say why.
    for (args, why) in [
        (
            vec!["host", "add", "--name", "sim-a", "--uri", uri.as_str()],
            "exists",
        ),
        (
            vec!["host", "add", "--name", "x", "--uri", "http://nope"],
            "Invalid libvirt URI",
        ),
        (
            vec!["host", "add", "--name", "bad name", "--uri", uri.as_str()],
            "Invalid host name",
        ),
        (
            vec![
                "host",
                "add",
                "--name",
                "gone",
                "--uri",
                "test:///no/such/node.xml",
            ],
            "Cannot add host gone",
        ),
        (vec!["host", "disable", "nope"], "Could not find host"),
    ] {
        let o = ferrostack(&data, &args);
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{args:?}: {why:?} not in {err}");
    }
}
