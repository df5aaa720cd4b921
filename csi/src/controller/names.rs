//! An index of one REST server's volumes by gluster volume name.
//!
//! The heketi API can only list volume ids, and CreateVolume must find an earlier create of
//! the same name (the provisioner retries, and the controller may have restarted). Volume
//! names never change, so each id is fetched once; a refresh lists the ids and fetches only
//! the new ones. Refreshes are serialized so a burst of concurrent creates costs one scan.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use futures::stream::{self, StreamExt};
use heqet_api::client::{Client, ClientError};
use heqet_api::types::VolumeInfoResponse;
use tokio::sync::Mutex;

use crate::controller::params::marker_of;

/// What the controller needs to know of a volume without asking the server again.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeSummary {
    pub id: String,
    pub name: String,
    pub size_gib: u64,
    pub gid: i64,
    /// Carries heqet-csi's marker option, i.e. heqet-csi made it.
    pub ours: bool,
    /// The CSI name in the marker (a clone carries its source's).
    pub marker: Option<String>,
}

impl VolumeSummary {
    pub fn of(info: &VolumeInfoResponse) -> VolumeSummary {
        VolumeSummary {
            id: info.id.clone(),
            name: info.name.clone(),
            size_gib: u64::try_from(info.size).unwrap_or(0),
            gid: info.gid,
            ours: marker_of(&info.glustervolumeoptions).is_some(),
            marker: marker_of(&info.glustervolumeoptions).map(str::to_string),
        }
    }
}

/// How many volume infos one refresh fetches at once.
const FETCH_CONCURRENCY: usize = 16;

#[derive(Default)]
pub struct NameIndex {
    by_id: Mutex<HashMap<String, VolumeSummary>>,
    /// Held by the running refresh; when the last successful one sent its list.
    refresh: Mutex<Option<Instant>>,
}

impl NameIndex {
    /// Bring the index up to date with the server's volume list.
    pub async fn refresh(&self, client: &Client) -> Result<(), ClientError> {
        let asked = Instant::now();
        let mut last_listed = self.refresh.lock().await;
        // A refresh that listed after this call was made has seen everything this one would:
        // the callers that queued behind one refresh share the next instead of one each.
        if last_listed.is_some_and(|t| t > asked) {
            return Ok(());
        }
        let listing = Instant::now();
        // Only entries known before the list can be dropped for missing from it: one upserted
        // while the list was on its way (a create that just finished) is missing from a list
        // the server made before, and dropping it would free its gid for a second volume.
        let known_before: BTreeSet<String> = self.by_id.lock().await.keys().cloned().collect();
        let listed = client.volume_list().await?.volumes;
        let unknown: Vec<String> = {
            let mut by_id = self.by_id.lock().await;
            let keep: BTreeSet<&String> = listed.iter().collect();
            by_id.retain(|id, _| keep.contains(id) || !known_before.contains(id));
            listed
                .iter()
                .filter(|id| !by_id.contains_key(*id))
                .cloned()
                .collect()
        };
        let fetched: Vec<Result<Option<VolumeSummary>, ClientError>> = stream::iter(unknown)
            .map(|id| async move {
                match client.volume_info(&id).await {
                    Ok(info) => Ok(Some(VolumeSummary::of(&info))),
                    // Deleted between the list and the info: nothing to index.
                    Err(ClientError::Http { status: 404, .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(FETCH_CONCURRENCY)
            .collect()
            .await;
        let mut by_id = self.by_id.lock().await;
        for f in fetched {
            if let Some(s) = f? {
                by_id.insert(s.id.clone(), s);
            }
        }
        *last_listed = Some(listing);
        Ok(())
    }

    /// The volume called `name`, after a refresh.
    pub async fn find(
        &self,
        client: &Client,
        name: &str,
    ) -> Result<Option<VolumeSummary>, ClientError> {
        self.refresh(client).await?;
        Ok(self.lookup(name).await)
    }

    /// The volume called `name` as the index knows it now (no server call).
    pub async fn lookup(&self, name: &str) -> Option<VolumeSummary> {
        self.by_id
            .lock()
            .await
            .values()
            .find(|s| s.name == name)
            .cloned()
    }

    /// Gids of the volumes heqet-csi made on this server.
    pub async fn used_gids(&self) -> BTreeSet<u32> {
        self.by_id
            .lock()
            .await
            .values()
            .filter(|s| s.ours)
            .filter_map(|s| u32::try_from(s.gid).ok())
            .filter(|g| *g != 0)
            .collect()
    }

    /// heqet-csi's volumes in id order (ListVolumes).
    pub async fn ours_sorted(&self) -> Vec<VolumeSummary> {
        let mut v: Vec<VolumeSummary> = self
            .by_id
            .lock()
            .await
            .values()
            .filter(|s| s.ours)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    pub async fn upsert(&self, info: &VolumeInfoResponse) {
        let s = VolumeSummary::of(info);
        self.by_id.lock().await.insert(s.id.clone(), s);
    }

    pub async fn remove(&self, id: &str) {
        self.by_id.lock().await.remove(id);
    }
}
