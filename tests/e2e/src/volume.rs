//! heketi's volume info JSON, reduced to what the scenarios check.

use serde_json::Value;

use crate::{Context, Result};

/// One brick as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brick {
    pub id: String,
    /// The brick directory (`.../vg_<D>/brick_<B>/brick`).
    pub path: String,
    pub device: String,
    pub node: String,
    /// KiB.
    pub size: u64,
}

impl Brick {
    /// The brick's mount point: its path without the trailing `/brick`.
    pub fn mount_point(&self) -> &str {
        self.path.strip_suffix("/brick").unwrap_or(&self.path)
    }

    /// `vg_<device id>`.
    pub fn vg(&self) -> String {
        format!("vg_{}", self.device)
    }
}

/// A volume as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub id: String,
    pub name: String,
    /// GiB.
    pub size: u64,
    /// `mount.glusterfs.device`, e.g. `10.99.0.1:vol_<id>`.
    pub mount_device: String,
    /// `mount.glusterfs.options.backup-volfile-servers`.
    pub backup_volfile_servers: String,
    pub bricks: Vec<Brick>,
    pub raw: Value,
}

fn text(v: &Value, key: &str) -> Result<String> {
    v[key]
        .as_str()
        .map(str::to_string)
        .context(format!("no string {key:?} in {v}"))
}

impl Volume {
    pub fn from_json(v: &Value) -> Result<Volume> {
        let mut bricks = Vec::new();
        for b in v["bricks"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            bricks.push(Brick {
                id: text(b, "id")?,
                path: text(b, "path")?,
                device: text(b, "device")?,
                node: text(b, "node")?,
                size: b["size"].as_u64().context(format!("brick size in {b}"))?,
            });
        }
        let g = &v["mount"]["glusterfs"];
        Ok(Volume {
            id: text(v, "id")?,
            name: text(v, "name")?,
            size: v["size"].as_u64().context(format!("volume size in {v}"))?,
            mount_device: text(g, "device")?,
            backup_volfile_servers: g["options"]["backup-volfile-servers"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            bricks,
            raw: v.clone(),
        })
    }

    /// The brick with this id.
    pub fn brick(&self, id: &str) -> Option<&Brick> {
        self.bricks.iter().find(|b| b.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_json_is_read() {
        let v = serde_json::json!({
            "id": "aa", "name": "vol_aa", "size": 1,
            "mount": {"glusterfs": {"device": "10.99.0.1:vol_aa",
                "options": {"backup-volfile-servers": "10.99.0.2,10.99.0.3"}}},
            "bricks": [{"id": "bb", "path": "/var/lib/heketi/mounts/vg_cc/brick_bb/brick",
                "device": "cc", "node": "dd", "size": 1048576}]
        });
        let vol = Volume::from_json(&v).unwrap();
        assert_eq!(
            vol.bricks[0].mount_point(),
            "/var/lib/heketi/mounts/vg_cc/brick_bb"
        );
        assert_eq!(vol.bricks[0].vg(), "vg_cc");
        assert_eq!(vol.backup_volfile_servers, "10.99.0.2,10.99.0.3");
    }
}
