//! Real `ferrostack serve` processes: an import killed with SIGKILL in the middle of
//! its conversion resumes after a restart and ends active; and two processes sharing
//! one PostgreSQL (the scale-out shape) run each job once, refuse a token the other
//! revoked, and push an event one of them published to a console on the other.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PASSWORD: &str = "processes-admin-pw-1";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Serve {
    child: Option<Child>,
    port: u16,
    data: PathBuf,
    db_url: Option<String>,
    log: PathBuf,
}

impl Serve {
    fn start(data: &Path, db_url: Option<&str>, name: &str) -> Serve {
        let mut s = Serve {
            child: None,
            port: free_port(),
            data: data.to_path_buf(),
            db_url: db_url.map(str::to_string),
            log: data.parent().unwrap().join(format!("{name}.log")),
        };
        s.spawn();
        s
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut c = Command::new(env!("CARGO_BIN_EXE_ferrostack"));
        c.args(["serve", "--image-convert-to", "qcow2"])
            .env("FERROSTACK_DATA_DIR", &self.data)
            .env("FERROSTACK_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("FERROSTACK_ADMIN_PASSWORD", PASSWORD)
            .env("FERROSTACK_LOG", "info,sqlx=warn")
            .env_remove("FERROSTACK_CONFIG")
            .env_remove("FERROSTACK_SEED_IMAGE")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        match &self.db_url {
            Some(u) => c.env("FERROSTACK_DATABASE_URL", u),
            None => c.env_remove("FERROSTACK_DATABASE_URL"),
        };
        self.child = Some(c.spawn().expect("start ferrostack serve"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while curl(&["-sf", &format!("{}/identity/v3", self.url())]).is_err() {
            assert!(
                Instant::now() < deadline,
                "serve did not come up: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }

    fn token(&self) -> String {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
        let out = curl(&[
            "-si",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-d",
            &body.to_string(),
            &format!("{}/identity/v3/auth/tokens", self.url()),
        ])
        .unwrap();
        out.lines()
            .find_map(|l| {
                l.strip_prefix("x-subject-token: ")
                    .or_else(|| l.strip_prefix("X-Subject-Token: "))
            })
            .map(|t| t.trim().to_string())
            .expect("a token")
    }

    fn json(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.url());
        let mut args = vec!["-sf", "-X", method, "-H", "content-type: application/json"];
        let auth = format!("x-auth-token: {token}");
        args.extend(["-H", &auth]);
        let b = body.map(|b| b.to_string());
        if let Some(b) = &b {
            args.extend(["-d", b]);
        }
        args.push(&url);
        let out = curl(&args).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        serde_json::from_str(&out).unwrap_or(Value::Null)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn curl(args: &[&str]) -> Result<String, String> {
    let o = Command::new("curl")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(format!(
            "curl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        ))
    }
}

/// A raw disk with data in every 4 KiB block, so converting it writes all of it.
fn disk(path: &Path, mib: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut block = vec![0u8; 1 << 20];
    for i in 0..mib {
        for (j, b) in block.iter_mut().step_by(4096).enumerate() {
            *b = ((i + j) % 251) as u8 + 1;
        }
        f.write_all(&block).unwrap();
    }
}

/// Create, stage and import a raw image through `s`; returns its id.
fn import(s: &Serve, token: &str, name: &str, file: &Path) -> String {
    let img = s.json(
        "POST",
        "/image/v2/images",
        token,
        Some(json!({"name": name, "disk_format": "raw", "container_format": "bare"})),
    );
    let id = img["id"].as_str().unwrap().to_string();
    let auth = format!("x-auth-token: {token}");
    // -T streams the file (PUT) instead of loading it.
    curl(&[
        "-sf",
        "-T",
        file.to_str().unwrap(),
        "-H",
        &auth,
        "-H",
        "content-type: application/octet-stream",
        &format!("{}/image/v2/images/{id}/stage", s.url()),
    ])
    .unwrap();
    curl(&[
        "-sf",
        "-X",
        "POST",
        "-H",
        &auth,
        "-H",
        "content-type: application/json",
        "-d",
        r#"{"method":{"name":"glance-direct"}}"#,
        &format!("{}/image/v2/images/{id}/import", s.url()),
    ])
    .unwrap();
    id
}

fn wait_active(s: &Serve, token: &str, id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let img = s.json("GET", &format!("/image/v2/images/{id}"), token, None);
        if img["status"] == "active" {
            return img;
        }
        assert!(
            Instant::now() < deadline,
            "image {id} is {} after {within:?}",
            img["status"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_import_killed_with_sigkill_mid_conversion_resumes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Serve::start(&data, None, "a");
    let token = s.token();
    let file = dir.path().join("disk.raw");
    disk(&file, 1024);
    let id = import(&s, &token, "killed-mid-convert", &file);
    // Wait until the conversion is under way, then kill -9 the process.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let tasks = s.json("GET", &format!("/image/v2/images/{id}/tasks"), &token, None);
        let t = &tasks["tasks"][0];
        if t["status"] == "processing"
            && t["message"]
                .as_str()
                .unwrap_or("")
                .starts_with("Converting raw to qcow2")
        {
            break;
        }
        assert!(
            t["status"] != "success",
            "the conversion finished before it could be interrupted: {t}"
        );
        assert!(
            Instant::now() < deadline,
            "the conversion never started: {tasks}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    s.kill9();
    // The same cloud started again takes the job over (its worker is gone) and finishes.
    s.spawn();
    let token = s.token();
    let img = wait_active(&s, &token, &id, Duration::from_secs(180));
    assert_eq!(img["disk_format"], "qcow2");
    // Its task says so a moment after the image does (the job ends after its last step).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let tasks = s.json("GET", &format!("/image/v2/images/{id}/tasks"), &token, None);
        if tasks["tasks"][0]["status"] == "success" {
            break;
        }
        assert!(Instant::now() < deadline, "{tasks}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(
        log.contains("its lease ends now") || log.contains("taking over a job"),
        "the restart took the job over:\n{log}"
    );
    // The downloaded image is a valid qcow2 of the original disk.
    let out = dir.path().join("out.qcow2");
    let auth = format!("x-auth-token: {token}");
    curl(&[
        "-sf",
        "-H",
        &auth,
        "-o",
        out.to_str().unwrap(),
        &format!("{}/image/v2/images/{id}/file", s.url()),
    ])
    .unwrap();
    let cmp = Command::new("qemu-img")
        .args(["compare", "-f", "qcow2", "-F", "raw"])
        .arg(&out)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        cmp.status.success(),
        "{}",
        String::from_utf8_lossy(&cmp.stdout)
    );
}

#[test]
fn two_processes_on_one_postgresql_share_jobs_revocations_and_events() {
    let Ok(admin_url) = std::env::var("FERROSTACK_TEST_PG_URL") else {
        eprintln!(
            "two_processes_on_one_postgresql: runs in the PostgreSQL pass of the test command"
        );
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(ferrostack_core::Db::for_tests()).unwrap();
    let url = db.url().to_string();
    assert!(url.starts_with("postgres") && admin_url.starts_with("postgres"));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = Serve::start(&data, Some(&url), "a");
    let b = Serve::start(&data, Some(&url), "b");
    let token = a.token();

    // Jobs: imports queued through both run once each, on whichever process claims them.
    let file = dir.path().join("small.raw");
    disk(&file, 8);
    let mut ids = Vec::new();
    for i in 0..6 {
        let via = if i % 2 == 0 { &a } else { &b };
        ids.push(import(via, &token, &format!("shared-{i}"), &file));
    }
    for id in &ids {
        wait_active(&a, &token, id, Duration::from_secs(120));
    }
    let attempts: Vec<(String, i64)> = rt
        .block_on(
            sqlx::query_as::<_, (String, i64)>(
                "SELECT subject, attempts FROM jobs WHERE kind = 'image.import'",
            )
            .fetch_all(&db.pool),
        )
        .unwrap();
    assert_eq!(attempts.len(), 6);
    assert!(
        attempts.iter().all(|(_, n)| *n == 1),
        "a job ran more than once: {attempts:?}"
    );

    // Revocation: a token revoked through A is refused by B.
    let victim = a.token();
    let check = |s: &Serve| {
        curl(&[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            &format!("x-auth-token: {token}"),
            "-H",
            &format!("x-subject-token: {victim}"),
            &format!("{}/identity/v3/auth/tokens", s.url()),
        ])
        .unwrap()
    };
    assert_eq!(check(&b), "200");
    curl(&[
        "-sf",
        "-X",
        "DELETE",
        "-H",
        &format!("x-auth-token: {token}"),
        "-H",
        &format!("x-subject-token: {victim}"),
        &format!("{}/identity/v3/auth/tokens", a.url()),
    ])
    .unwrap();
    let revoked = Instant::now();
    while check(&b) != "404" && check(&b) != "401" {
        assert!(
            revoked.elapsed() < Duration::from_secs(10),
            "B still accepts the revoked token"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "B refused the token revoked through A after {:?}",
        revoked.elapsed()
    );

    // Events: a console session on B hears of an image created through A.
    let cookies = dir.path().join("cookies");
    curl(&[
        "-sf",
        "-c",
        cookies.to_str().unwrap(),
        "-X",
        "POST",
        "-d",
        &format!("username=admin&password={PASSWORD}&domain="),
        &format!("{}/api/sign_in", b.url()),
    ])
    .unwrap();
    let feed = dir.path().join("feed.txt");
    let mut stream = Command::new("curl")
        .args([
            "-sN",
            "-b",
            cookies.to_str().unwrap(),
            "-o",
            feed.to_str().unwrap(),
            &format!("{}/console/events?all=true", b.url()),
        ])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&feed)
        .unwrap_or_default()
        .contains("event: ready")
    {
        assert!(Instant::now() < deadline, "B's event stream did not open");
        std::thread::sleep(Duration::from_millis(50));
    }
    let img = a.json(
        "POST",
        "/image/v2/images",
        &token,
        Some(json!({"name": "heard-on-b", "disk_format": "raw", "container_format": "bare"})),
    );
    let id = img["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&feed)
        .unwrap_or_default()
        .contains(&id)
    {
        assert!(
            Instant::now() < deadline,
            "B's console never heard of {id}: {}",
            std::fs::read_to_string(&feed).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = stream.kill();
    let _ = stream.wait();
}
