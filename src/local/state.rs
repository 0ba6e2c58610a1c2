//! Where a local stack lives: one directory per stack under the user's data directory
//! (`WAITABLE_HOME` overrides it), holding the database, the deployed stack, the engine's
//! pid/port file, its lock and its log.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub const HOME_ENV: &str = "WAITABLE_HOME";

/// The root holding every local stack: `$WAITABLE_HOME`, else `<data dir>/waitable`.
pub fn home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    dirs::data_dir()
        .map(|d| d.join("waitable"))
        .ok_or_else(|| Error::failed(format!("cannot find your data directory; set {HOME_ENV}")))
}

/// Refuses a directory (if it exists) that someone else could change: it must be owned by this
/// user and not writable by group or others, since whoever can write there can swap the
/// engine's socket, database or webhook header.
#[cfg(unix)]
pub fn check_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(dir) else {
        return Ok(());
    };
    let me = rustix::process::getuid().as_raw();
    if meta.uid() != me {
        return Err(Error::failed(format!(
            "{} is owned by uid {}, not by you (uid {me}): the local target keeps its stacks only in a directory of your own (set {HOME_ENV} to one)",
            dir.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Error::failed(format!(
            "{} is writable by others (mode {:o}): the local target keeps its stacks only in a directory no one else can write to (`chmod go-w {}`)",
            dir.display(),
            meta.mode() & 0o7777,
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn check_private(_dir: &Path) -> Result<()> {
    Ok(())
}

/// What deploy wrote: the stack as the engine runs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StackFile {
    pub stack: String,
    #[serde(rename = "tableName")]
    pub table_name: String,
    /// The state machine definition, placeholders resolved.
    pub definition: String,
    /// The port the API was last served on (kept across restarts so ApiUrl stays the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The delivery targets (`--deliver` flags), remembered for the next deploy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliver: Vec<String>,
    /// The `RetentionDays` parameter the stack was deployed with (every job's `ExpiresAt`).
    #[serde(rename = "retentionDays", default = "default_retention_days")]
    pub retention_days: u32,
    /// How many webhook requests run at once against one webhook (the rest wait in line).
    #[serde(rename = "webhookConcurrency", default = "default_webhook_concurrency")]
    pub webhook_concurrency: usize,
}

fn default_retention_days() -> u32 {
    waitable_core::retention::DEFAULT_RETENTION_DAYS
}

fn default_webhook_concurrency() -> usize {
    super::engine::DEFAULT_CONCURRENCY
}

/// What a running engine writes for people and tools to read (its pid and public port). The
/// CLI does not trust it: it asks the engine over its socket (see `process::probe`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EngineFile {
    pub pid: u32,
    pub port: u16,
}

/// One stack's directory.
#[derive(Debug, Clone)]
pub struct StackDir {
    pub root: PathBuf,
}

impl StackDir {
    pub fn new(home: &Path, stack: &str) -> StackDir {
        StackDir {
            root: home.join(stack),
        }
    }

    pub fn stack_file(&self) -> PathBuf {
        self.root.join("stack.json")
    }
    pub fn engine_file(&self) -> PathBuf {
        self.root.join("engine.json")
    }
    /// The engine's control socket (mode 0600): the private routes are served only here.
    pub fn socket_file(&self) -> PathBuf {
        self.root.join("engine.sock")
    }
    pub fn log_file(&self) -> PathBuf {
        self.root.join("engine.log")
    }
    pub fn db_file(&self) -> PathBuf {
        self.root.join("waitable.db")
    }

    pub fn exists(&self) -> bool {
        self.stack_file().exists()
    }

    pub fn read_stack(&self) -> anyhow::Result<StackFile> {
        read_json(&self.stack_file())
    }

    pub fn write_stack(&self, s: &StackFile) -> anyhow::Result<()> {
        self.create()?;
        write_json(&self.stack_file(), s)
    }

    pub fn read_engine(&self) -> Option<EngineFile> {
        read_json(&self.engine_file()).ok()
    }

    /// Takes this stack's deploy lock, waiting for another deploy of it to finish first (two
    /// deploys at once: the second finds the first one's engine running and reloads it).
    /// Held until the returned file is dropped.
    pub fn lock_deploy(&self) -> anyhow::Result<File> {
        self.create()?;
        let path = self.root.join("deploy.lock");
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        f.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(f)
    }

    /// Creates the directory, readable by its owner only: whoever can read it controls the
    /// stack (its engine socket lives here).
    pub fn create(&self) -> anyhow::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Writes through a temporary sibling of its own (unique, so writers at once do not clash) and
/// a rename, so readers never see half a file.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing a temporary file in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, &serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", tmp.path().display()))?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_at_once_never_clash_and_the_directory_is_private() {
        let home = tempfile::tempdir().unwrap();
        let dir = StackDir::new(home.path(), "s");
        let file = |n: u16| StackFile {
            stack: "s".into(),
            table_name: "t".into(),
            definition: "{}".into(),
            port: Some(n),
            deliver: vec![],
            retention_days: 90,
            webhook_concurrency: 512,
        };
        std::thread::scope(|scope| {
            for n in 0..16 {
                let dir = &dir;
                scope.spawn(move || {
                    for _ in 0..20 {
                        dir.write_stack(&file(n)).unwrap();
                    }
                });
            }
        });
        assert!(dir.read_stack().unwrap().port.is_some());
        let names: Vec<_> = std::fs::read_dir(&dir.root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["stack.json"], "no temporary file is left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir.root).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}
