//! `db import` and `db export`: heketi's JSON database into and out of a heqet store file,
//! offline, as heketi's own `heketi db import/export` worked on its file. What the import
//! could not carry goes to stderr, the summary to stdout.

use crate::args::{DbExportArgs, DbImportArgs, GlobalArgs};
use crate::error::{CliError, CliResult};

#[cfg(not(feature = "server"))]
pub fn import(_g: &GlobalArgs, _a: DbImportArgs) -> CliResult {
    Err(CliError::msg(
        "this heqet was built without the server (feature \"server\"), which db import needs",
    ))
}

#[cfg(not(feature = "server"))]
pub fn export(_a: DbExportArgs) -> CliResult {
    Err(CliError::msg(
        "this heqet was built without the server (feature \"server\"), which db export needs",
    ))
}

#[cfg(feature = "server")]
pub use offline::{export, import};

#[cfg(feature = "server")]
mod offline {
    use std::io::{Read, Write};
    use std::path::{Path, PathBuf};

    use heqet_server::db_file::{self, Counts, ImportRequest};

    use super::*;
    use crate::output::{err, out};

    fn runtime() -> CliResult<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::msg(format!("cannot start the runtime: {e}")))
    }

    /// `--db`, else the store `heqet serve` would open (config file, environment, default).
    fn store_path(db: &Option<PathBuf>, config: &Option<PathBuf>) -> CliResult<PathBuf> {
        if let Some(p) = db {
            return Ok(p.clone());
        }
        let c = heqet_server::Config::load(config.as_deref())
            .map_err(|e| CliError::msg(e.to_string()))?;
        Ok(c.db_path)
    }

    fn read_input(name: &str) -> CliResult<Vec<u8>> {
        let mut buf = Vec::new();
        let r = if name == "-" {
            std::io::stdin().read_to_end(&mut buf).map(drop)
        } else {
            std::fs::File::open(name).and_then(|mut f| f.read_to_end(&mut buf).map(drop))
        };
        r.map_err(|e| CliError::msg(format!("cannot read {name}: {e}")))?;
        Ok(buf)
    }

    fn plural(n: usize, one: &str, many: &str) -> String {
        format!("{n} {}", if n == 1 { one } else { many })
    }

    fn summary(db: &Path, c: &Counts, backup: Option<&Path>) -> String {
        let mut s = format!(
            "Imported into {}: {}, {}, {}, {}, {}, {}\n",
            db.display(),
            plural(c.clusters, "cluster", "clusters"),
            plural(c.nodes, "node", "nodes"),
            plural(c.devices, "device", "devices"),
            plural(c.volumes, "volume", "volumes"),
            plural(c.bricks, "brick", "bricks"),
            plural(c.operations, "pending operation", "pending operations"),
        );
        if c.operations > 0 {
            s.push_str(
                "Pending operations are stale: heqet's cleaner finishes or undoes them once it \
                 runs (or: server operations cleanup)\n",
            );
        }
        if c.block_volumes + c.db_attributes > 0 {
            s.push_str(&format!(
                "Not carried: {}, {} (see the warnings)\n",
                plural(c.block_volumes, "block volume", "block volumes"),
                plural(c.db_attributes, "db attribute", "db attributes"),
            ));
        }
        if let Some(b) = backup {
            s.push_str(&format!(
                "The previous store was copied to {}\n",
                b.display()
            ));
        }
        s
    }

    pub fn import(g: &GlobalArgs, a: DbImportArgs) -> CliResult {
        let rt = runtime()?;
        let dump = match (&a.from, &a.file) {
            (Some(url), _) => {
                let mut g = g.clone();
                g.server = Some(url.clone());
                let client = crate::app::client(&g)?;
                rt.block_on(client.db_dump())?.into_bytes()
            }
            (None, Some(f)) => read_input(f)?,
            (None, None) => {
                return Err(CliError::msg(
                    "Missing the database file: give heketi's JSON database (or --from URL)",
                ))
            }
        };
        let mut gluster = Vec::new();
        for f in &a.gluster_volume_info {
            let text = std::fs::read_to_string(f)
                .map_err(|e| CliError::msg(format!("cannot read {}: {e}", f.display())))?;
            gluster.push(text);
        }
        let db = store_path(&a.db, &a.config)?;
        let done = rt
            .block_on(db_file::import(ImportRequest {
                dump: &dump,
                gluster_xml: &gluster,
                db: &db,
                force: a.force,
            }))
            .map_err(|e| CliError::msg(e.to_string()))?;
        for n in &done.notices {
            err(&format!("Warning: {n}\n"));
        }
        if g.json {
            let c = &done.counts;
            let v = serde_json::json!({
                "db": db.display().to_string(),
                "clusters": c.clusters, "nodes": c.nodes, "devices": c.devices,
                "volumes": c.volumes, "bricks": c.bricks, "pendingoperations": c.operations,
                "not_carried": {"blockvolumes": c.block_volumes, "dbattributes": c.db_attributes},
                "backup": done.backup.as_ref().map(|b| b.display().to_string()),
            });
            out(&format!("{v}\n"));
        } else {
            out(&summary(&db, &done.counts, done.backup.as_deref()));
        }
        Ok(())
    }

    pub fn export(a: DbExportArgs) -> CliResult {
        let db = store_path(&a.db, &a.config)?;
        let rt = runtime()?;
        let e = rt
            .block_on(db_file::export(&db))
            .map_err(|e| CliError::msg(e.to_string()))?;
        let text = db_file::dump_text(&e.dump);
        match a.file.as_deref() {
            None | Some("-") => out(&text),
            Some(f) => {
                // As heketi's export: never overwrite.
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(f)
                    .map_err(|e| CliError::msg(format!("Could not create json file {f}: {e}")))?;
                file.write_all(text.as_bytes())
                    .map_err(|e| CliError::msg(format!("cannot write {f}: {e}")))?;
            }
        }
        if e.operations > 0 {
            err(&format!(
                "Warning: {} pending operation(s) are written with heqet's type names, which \
                 heketi's `db import` cannot read; clean them up first (server operations \
                 cleanup) to go back to heketi\n",
                e.operations
            ));
        }
        Ok(())
    }
}
