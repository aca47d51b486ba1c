//! The database: one sqlx `Any` pool over SQLite (embedded default) or PostgreSQL
//! (scale-out). Portability rule: SQL in the datastores uses `$1` placeholders, TEXT
//! for ids and timestamps, BIGINT for integers and for 0/1 flags (the Any driver cannot
//! decode SQLite booleans), which both
//! backends read the same way. The migration history in `migrations/` is applied on
//! start and by `ferrostack db migrate`.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::error::{Error, Result};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// The URL it was opened with (a PostgreSQL listener opens its own connection).
    url: String,
}

impl Db {
    /// Connect to `url` (`sqlite://PATH` or `postgres://...`). SQLite files are created
    /// if missing and opened in WAL mode with foreign keys on.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::bad_request(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://..."
            )));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let opts = AnyConnectOptions::from_str(&url)
            .map_err(|e| Error::bad_request(format!("invalid database URL: {e}")))?;
        let max = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(|e| Error::internal(format!("cannot connect to the database: {e}")))?;
        Ok(Db { pool, backend, url })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SQLite URL for the embedded database under `data_dir`.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("ferrostack.db").display())
    }

    /// Apply core's migrations not yet applied (with the history from before each
    /// crate had its own: crates/core/migrations/README.md).
    pub async fn migrate(&self) -> Result<()> {
        self.apply(&MIGRATOR).await
    }

    /// Apply one crate's migrations (`sqlx::migrate!` in that crate) not yet applied.
    /// Every crate shares sqlx's one history table, each in its own version range, so
    /// each migrator passes over the versions the others applied.
    pub async fn apply(&self, migrator: &Migrator) -> Result<()> {
        let own = Migrator {
            migrations: migrator.migrations.clone(),
            ignore_missing: true,
            locking: migrator.locking,
            no_tx: migrator.no_tx,
        };
        own.run(&self.pool)
            .await
            .map_err(|e| Error::internal(format!("migration failed: {e}")))
    }

    /// Versions of the migrations applied so far.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// A fresh, migrated database for one test. With `FERROSTACK_TEST_PG_URL` set (the
    /// test command sets it to a throwaway PostgreSQL server) each call creates a new
    /// database there; otherwise a new SQLite file under the temp dir.
    pub async fn for_tests() -> Result<Db> {
        let name = format!("fs_test_{}", crate::ids::new_id());
        let db = match std::env::var("FERROSTACK_TEST_PG_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let admin = Db::connect(&admin_url).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin.pool)
                    .await?;
                admin.pool.close().await;
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url);
                Db::connect(&format!("{base}/{name}")).await?
            }
            _ => {
                let dir = std::env::temp_dir().join("ferrostack-tests");
                std::fs::create_dir_all(&dir).map_err(Error::internal)?;
                Db::connect(&format!(
                    "sqlite://{}",
                    dir.join(format!("{name}.db")).display()
                ))
                .await?
            }
        };
        db.migrate().await?;
        Ok(db)
    }
}

/// A value bound into dynamically built SQL.
#[derive(Clone, Debug)]
pub enum Arg {
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Int(i64),
}

/// SQL text with `$N` placeholders built up piece by piece (list filters), portable to
/// both backends. sqlx's QueryBuilder writes `?` for the Any driver, which PostgreSQL
/// rejects, hence this.
#[derive(Clone, Debug, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Append a placeholder bound to `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// `AND <column> = $N` for an optional filter.
    pub fn and_eq(&mut self, column: &str, arg: Option<Arg>) -> &mut Self {
        if let Some(arg) = arg {
            self.push(" AND ").push(column).push(" = ").bind(arg);
        }
        self
    }

    /// `($N, $N+1, ...)` for an `IN` list; `(NULL)` (matching nothing, not even an
    /// empty string) when empty.
    pub fn in_list<'a>(&mut self, items: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.push("(");
        let mut first = true;
        for item in items {
            if !first {
                self.push(", ");
            }
            first = false;
            self.bind(Arg::Text(item.to_string()));
        }
        if first {
            self.push("NULL");
        }
        self.push(")")
    }

    /// Run the query and convert each row (`Row` → the resource it stands for).
    pub async fn fetch_all<T, U>(&self, pool: &sqlx::AnyPool) -> Result<Vec<U>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
        U: From<T>,
    {
        Ok(self
            .query_as::<T>()
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(U::from)
            .collect())
    }

    pub fn query_as<'q, T>(
        &'q self,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, T, sqlx::any::AnyArguments<'q>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut q = sqlx::query_as::<_, T>(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::OptText(s) => q.bind(s.as_deref()),
                Arg::Bool(b) => q.bind(i64::from(*b)),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}
