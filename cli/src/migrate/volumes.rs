//! The heketi volumes by gluster volume name: in-tree PVs name their volume by name
//! (`spec.glusterfs.path`), heketi finds volumes by id, and the API has no lookup by name.

use std::collections::BTreeMap;

use heqet_api::client::{Client, ClientError};
use heqet_api::types::VolumeInfoResponse;
use tokio::task::JoinSet;

use crate::migrate::error::MigrateError;

/// Volume info requests in flight at once: a migration reads every volume once, and heketi
/// serves them one by one anyway.
const CONCURRENCY: usize = 8;

/// What a name lookup found.
#[derive(Debug, PartialEq)]
pub enum Lookup<'a> {
    None,
    One(&'a VolumeInfoResponse),
    /// heketi refuses duplicate names, but a database edited by hand may still have them.
    Many(Vec<&'a str>),
}

#[derive(Debug, Default)]
pub struct VolumeIndex {
    /// The server, for messages.
    pub server: String,
    by_name: BTreeMap<String, Vec<VolumeInfoResponse>>,
}

impl VolumeIndex {
    pub fn new(server: &str, volumes: Vec<VolumeInfoResponse>) -> VolumeIndex {
        let mut by_name: BTreeMap<String, Vec<VolumeInfoResponse>> = BTreeMap::new();
        for v in volumes {
            by_name.entry(v.name.clone()).or_default().push(v);
        }
        VolumeIndex {
            server: server.to_string(),
            by_name,
        }
    }

    pub fn lookup(&self, name: &str) -> Lookup<'_> {
        match self.by_name.get(name).map(Vec::as_slice) {
            None | Some([]) => Lookup::None,
            Some([one]) => Lookup::One(one),
            Some(many) => Lookup::Many(many.iter().map(|v| v.id.as_str()).collect()),
        }
    }
}

fn not_found(e: &ClientError) -> bool {
    e.status() == Some(404)
}

/// `GET /volumes`, then `GET /volumes/{id}` for each. A volume deleted between the two is
/// simply not there; any other failure stops the run before anything is changed.
pub async fn load(client: &Client) -> Result<VolumeIndex, MigrateError> {
    let server = client.server();
    let fail = |source| MigrateError::Volumes {
        server: server.clone(),
        source,
    };
    let ids = client.volume_list().await.map_err(fail)?.volumes;
    let mut volumes = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CONCURRENCY) {
        let mut set = JoinSet::new();
        for id in chunk {
            let (client, id) = (client.clone(), id.clone());
            set.spawn(async move { client.volume_info(&id).await });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Ok(info)) => volumes.push(info),
                Ok(Err(e)) if not_found(&e) => {}
                Ok(Err(e)) => return Err(fail(e)),
                Err(e) => {
                    return Err(MigrateError::Runtime(format!(
                        "a volume lookup did not finish: {e}"
                    )))
                }
            }
        }
    }
    Ok(VolumeIndex::new(&server, volumes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(id: &str, name: &str) -> VolumeInfoResponse {
        VolumeInfoResponse {
            id: id.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn lookups_by_name() {
        let idx = VolumeIndex::new(
            "http://h",
            vec![vol("a", "vol_a"), vol("b", "dup"), vol("c", "dup")],
        );
        assert!(matches!(idx.lookup("vol_a"), Lookup::One(v) if v.id == "a"));
        assert_eq!(idx.lookup("nope"), Lookup::None);
        let Lookup::Many(mut ids) = idx.lookup("dup") else {
            panic!("dup is ambiguous")
        };
        ids.sort();
        assert_eq!(ids, vec!["b", "c"]);
    }
}
