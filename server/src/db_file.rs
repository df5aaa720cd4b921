//! `heqet db import` and `heqet db export` on a store file, offline (no server may run on
//! it): heketi's JSON database dump into a store, and a store back out in that format.
//!
//! An import never merges. It fills an empty store, or with `force` replaces what the store
//! holds, after a copy to `<db>.bak`, inside the same transaction that writes the new rows,
//! so a failed import leaves the file as it was. A malformed dump is refused before the
//! file is opened; a store file the import created is removed again if the import fails.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::heketi_db::{self, DumpError, Notice};
use crate::store::{RowCounts, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DbFileError {
    #[error(transparent)]
    Dump(#[from] DumpError),
    #[error(
        "{path} already holds {what}; an import fills only an empty store and never merges. \
         Use --force to replace its contents (a copy is kept in {path}.bak)"
    )]
    NotEmpty { path: String, what: String },
    #[error("{path} is not a heqet store (not an SQLite database); refusing to touch it")]
    NotAStore { path: String },
    #[error("{path} exists; move it away so --force can keep a fresh copy of the store there")]
    BackupExists { path: String },
    #[error("no store at {path}")]
    NoStore { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("store {path}: {source}")]
    Store { path: String, source: StoreError },
}

/// What to import where.
pub struct ImportRequest<'a> {
    pub dump: &'a [u8],
    /// Outputs of `gluster volume info --xml` (the brick order).
    pub gluster_xml: &'a [String],
    pub db: &'a Path,
    pub force: bool,
}

/// Rows written per kind, and what was not carried.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub clusters: usize,
    pub nodes: usize,
    pub devices: usize,
    pub volumes: usize,
    pub bricks: usize,
    pub operations: usize,
    pub block_volumes: usize,
    pub db_attributes: usize,
}

#[derive(Debug)]
pub struct Imported {
    pub counts: Counts,
    pub notices: Vec<Notice>,
    /// The copy of the replaced store (`force` on a store that held something).
    pub backup: Option<PathBuf>,
}

/// What an export wrote.
#[derive(Debug)]
pub struct Exported {
    pub dump: Value,
    /// Journal entries in it: heketi's `db import` reads heqet's `type_name`s as an error.
    pub operations: usize,
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Empty, or an SQLite database by its header; anything else is left alone.
fn check_is_store(db: &Path) -> Result<(), DbFileError> {
    let io = |source| DbFileError::Io {
        path: shown(db),
        source,
    };
    let mut f = std::fs::File::open(db).map_err(io)?;
    let mut head = Vec::with_capacity(16);
    f.by_ref().take(16).read_to_end(&mut head).map_err(io)?;
    if head.is_empty() || head == b"SQLite format 3\0" {
        Ok(())
    } else {
        Err(DbFileError::NotAStore { path: shown(db) })
    }
}

fn describe(c: &RowCounts) -> String {
    let parts: Vec<String> = [
        (c.clusters, "cluster"),
        (c.nodes, "node"),
        (c.devices, "device"),
        (c.volumes, "volume"),
        (c.bricks, "brick"),
        (c.operations, "pending operation"),
        (c.queue, "queue entry"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| match (*n, *what) {
        (1, w) => format!("1 {w}"),
        (n, "queue entry") => format!("{n} queue entries"),
        (n, w) => format!("{n} {w}s"),
    })
    .collect();
    parts.join(", ")
}

/// Import a dump into the store file `req.db`.
pub async fn import(req: ImportRequest<'_>) -> Result<Imported, DbFileError> {
    let plan = heketi_db::read(req.dump, req.gluster_xml)?;
    let existed = req.db.exists();
    if existed {
        check_is_store(req.db)?;
    }
    let store = Store::open(req.db)
        .await
        .map_err(|source| DbFileError::Store {
            path: shown(req.db),
            source,
        });
    let result = match store {
        Ok(store) => {
            let r = write(&store, &plan.rows, req.db, req.force).await;
            let closed = store.shut().await.map_err(|source| DbFileError::Store {
                path: shown(req.db),
                source,
            });
            r.and_then(|b| closed.map(|()| b))
        }
        Err(e) => Err(e),
    };
    if result.is_err() && !existed {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(with_suffix(req.db, suffix));
        }
    }
    let backup = result?;
    let r = &plan.rows;
    Ok(Imported {
        counts: Counts {
            clusters: r.clusters.len(),
            nodes: r.nodes.len(),
            devices: r.devices.len(),
            volumes: r.volumes.len(),
            bricks: r.bricks.len(),
            operations: r.operations.len(),
            block_volumes: plan.block_volumes,
            db_attributes: plan.db_attributes,
        },
        notices: plan.notices,
        backup,
    })
}

/// Check, back up when replacing, then wipe and write in one transaction.
async fn write(
    store: &Store,
    rows: &crate::store::ImportRows,
    db: &Path,
    force: bool,
) -> Result<Option<PathBuf>, DbFileError> {
    let serr = |source| DbFileError::Store {
        path: shown(db),
        source,
    };
    let held = {
        let mut w = store.writer().await;
        let mut tx = w.begin().await.map_err(serr)?;
        tx.row_counts().await.map_err(serr)?
    };
    let mut backup = None;
    if !held.is_empty() {
        if !force {
            return Err(DbFileError::NotEmpty {
                path: shown(db),
                what: describe(&held),
            });
        }
        let bak = with_suffix(db, ".bak");
        if bak.exists() {
            return Err(DbFileError::BackupExists { path: shown(&bak) });
        }
        store.copy_to(&bak).await.map_err(serr)?;
        backup = Some(bak);
    }
    let mut w = store.writer().await;
    let mut tx = w.begin().await.map_err(serr)?;
    let now = tx.row_counts().await.map_err(serr)?;
    if !now.is_empty() {
        if backup.is_none() {
            return Err(DbFileError::NotEmpty {
                path: shown(db),
                what: describe(&now),
            });
        }
        tx.wipe().await.map_err(serr)?;
    }
    tx.import_rows(rows).await.map_err(serr)?;
    tx.commit().await.map_err(serr)?;
    Ok(backup)
}

/// The store file `db` in heketi's dump format (`GET /db/dump`'s document).
pub async fn export(db: &Path) -> Result<Exported, DbFileError> {
    if !db.is_file() {
        return Err(DbFileError::NoStore { path: shown(db) });
    }
    check_is_store(db)?;
    let serr = |source| DbFileError::Store {
        path: shown(db),
        source,
    };
    let store = Store::open(db).await.map_err(serr)?;
    let dump = store.read().db_dump().await;
    store.shut().await.map_err(serr)?;
    let dump = dump.map_err(serr)?;
    let operations = dump
        .get("pendingoperations")
        .and_then(Value::as_object)
        .map_or(0, |o| o.len());
    Ok(Exported { dump, operations })
}

/// JSON as heketi writes its dump: indented by 4 spaces, ending in a newline.
pub fn dump_text(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serializing a Value into memory cannot fail.
    let _ = serde::Serialize::serialize(v, &mut ser);
    buf.push(b'\n');
    String::from_utf8_lossy(&buf).into_owned()
}
