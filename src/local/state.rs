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
}

/// What a running engine wrote: how to reach it.
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
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("engine.lock")
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
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        write_json(&self.stack_file(), s)
    }

    pub fn read_engine(&self) -> Option<EngineFile> {
        read_json(&self.engine_file()).ok()
    }

    /// True while an engine holds this stack's lock (it is released when the process dies,
    /// however it dies).
    pub fn engine_alive(&self) -> bool {
        let Ok(f) = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.lock_file())
        else {
            return false;
        };
        match f.try_lock() {
            Ok(()) => {
                let _ = f.unlock();
                false
            }
            Err(_) => true,
        }
    }

    /// Takes the engine lock for this process's lifetime; fails if another engine has it.
    pub fn lock_engine(&self) -> Result<File> {
        std::fs::create_dir_all(&self.root)?;
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.lock_file())?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(_) => {
                let at = self
                    .read_engine()
                    .map(|e| format!(" (pid {}, http://127.0.0.1:{})", e.pid, e.port))
                    .unwrap_or_default();
                Err(Error::failed(format!(
                    "the engine of stack {} is already running{at}",
                    self.root.file_name().unwrap_or_default().to_string_lossy()
                )))
            }
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Writes through a temporary sibling and a rename, so readers never see half a file.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
