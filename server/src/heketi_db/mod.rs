//! heketi's JSON database (what `heketi db export`, `heketi-cli db dump` and `GET /db/dump`
//! write) read into heqet's store rows, for `heqet db import`: a running heketi's clusters,
//! nodes, devices, volumes, bricks and pending operations, ids kept, so PersistentVolumes,
//! StorageClasses and scripts that name them keep working against heqet.
//!
//! Pure: parsing ([`format`]), mapping ([`plan`], one record to one row in [`rows`]), the
//! cross-checks ([`agree`]), pending operations ([`ops`]) and brick order ([`order`]) touch
//! no file and no database; the store writes the rows.

mod agree;
mod error;
mod format;
mod notice;
mod ops;
mod order;
mod plan;
mod rows;
#[cfg(test)]
mod tests;

use heqet_executor::commands::parse::volume_info_xml;
use heqet_executor::VolumeStatus;

pub use error::DumpError;
pub use notice::Notice;
pub use plan::Import;

/// Read a dump. `gluster_xml` are outputs of `gluster volume info --xml` (one per cluster,
/// or none): they give the brick order, which heketi's database does not keep.
pub fn read(dump: &[u8], gluster_xml: &[String]) -> Result<Import, DumpError> {
    let gluster = gluster_volumes(gluster_xml)?;
    let doc = format::document(dump)?;
    plan::plan(doc, &gluster)
}

/// The volumes of every `gluster volume info --xml` output.
fn gluster_volumes(texts: &[String]) -> Result<Vec<VolumeStatus>, DumpError> {
    let mut all = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let (status, vols) =
            volume_info_xml(t).map_err(|e| DumpError::Gluster(format!("input {}: {e}", i + 1)))?;
        if status.op_ret != 0 {
            return Err(DumpError::Gluster(format!(
                "input {}: gluster answered an error: {}",
                i + 1,
                status.op_errstr
            )));
        }
        all.extend(vols);
    }
    Ok(all)
}
