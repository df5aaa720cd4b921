//! The Kubernetes reads: PersistentVolumes as the API server sends them, and the pods that
//! tell which claims are in use.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{PersistentVolume, Pod};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde_json::Value;

use crate::migrate::claims::{self, Claim, InUse};
use crate::migrate::error::MigrateError;

#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    pub pvs: Api<PersistentVolume>,
}

impl Cluster {
    pub fn new(client: kube::Client) -> Cluster {
        Cluster {
            pvs: Api::all(client.clone()),
            client,
        }
    }

    /// Every PV as raw JSON: the plan must see fields a typed PV would silently drop.
    pub async fn list_pvs(&self) -> Result<Vec<Value>, MigrateError> {
        let resource = ApiResource::erase::<PersistentVolume>(&());
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(MigrateError::ListPvs)?;
        list.items
            .into_iter()
            .map(|o| {
                serde_json::to_value(o).map_err(|e| {
                    MigrateError::Access(format!("cannot re-encode a PersistentVolume: {e}"))
                })
            })
            .collect()
    }

    pub async fn pods(&self, namespace: &str) -> Result<Vec<Pod>, kube::Error> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        Ok(api.list(&ListParams::default()).await?.items)
    }

    /// The claims in use in these namespaces.
    pub async fn in_use(&self, namespaces: &BTreeSet<String>) -> Result<InUse, MigrateError> {
        let mut all = Vec::new();
        for ns in namespaces {
            let pods = self
                .pods(ns)
                .await
                .map_err(|source| MigrateError::ListPods {
                    namespace: ns.clone(),
                    source,
                })?;
            all.extend(pods);
        }
        Ok(claims::in_use(&all))
    }

    /// The pods using one claim, read now.
    pub async fn pods_using(&self, claim: &Claim) -> Result<Vec<String>, kube::Error> {
        let pods = self.pods(&claim.namespace).await?;
        Ok(claims::in_use(&pods).remove(claim).unwrap_or_default())
    }
}
