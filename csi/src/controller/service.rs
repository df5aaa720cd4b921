//! The gRPC Controller service: each RPC checks its request, resolves the REST server and
//! calls the heketi API. The logic that needs no server lives in the sibling modules.

use std::collections::HashMap;
use std::sync::Arc;

use heqet_api::client::ClientError;
use heqet_api::types::{VolumeCloneRequest, VolumeExpandRequest, VolumeInfoResponse};
use tonic::{Request, Response, Status};

use crate::controller::capacity::{self, ClusterFree};
use crate::controller::inflight::{Claim, InFlight};
use crate::controller::names::VolumeSummary;
use crate::controller::params::{self, CreateParams};
use crate::controller::servers::{Defaults, Endpoint, Servers};
use crate::controller::volume_id::{self, VolumeRef};
use crate::controller::{context, GIB};
use crate::error::ControllerError;
use crate::proto::csi::v1 as csi;
use csi::controller_service_capability::rpc::Type as Rpc;

type Result<T> = std::result::Result<T, ControllerError>;

/// Shared by the service and its spawned create tasks.
struct Inner {
    servers: Servers,
    inflight: InFlight,
}

#[derive(Clone)]
pub struct ControllerService {
    inner: Arc<Inner>,
}

impl ControllerService {
    /// Fails when the default `--resturl` is not a usable URL.
    pub fn new(defaults: Defaults) -> Result<ControllerService> {
        Ok(ControllerService {
            inner: Arc::new(Inner {
                servers: Servers::new(defaults)?,
                inflight: InFlight::default(),
            }),
        })
    }

    /// Probe: the default REST server answers (ready when none is configured: StorageClasses
    /// then name their own).
    pub async fn ready(&self) -> std::result::Result<(), Status> {
        match self.inner.servers.default_endpoint() {
            None => Ok(()),
            Some(ep) => {
                let ep = ep?;
                ep.client.hello().await.map(|_| ()).map_err(|source| {
                    Status::from(ControllerError::Rest {
                        context: format!("REST server {} does not answer", ep.url),
                        source,
                    })
                })
            }
        }
    }
}

fn rest(context: String) -> impl FnOnce(ClientError) -> ControllerError {
    move |source| ControllerError::Rest { context, source }
}

/// The error of a create or clone of `name`. heketi's "name already in use" for a name our
/// index does not have means a create of it is still pending on the server (e.g. started
/// before this controller restarted).
fn create_error(name: &str, context: String) -> impl FnOnce(ClientError) -> ControllerError + '_ {
    move |e| match &e {
        ClientError::Http { message, .. } if message.contains("already in use") => {
            ControllerError::CreateInProgress(name.to_string())
        }
        _ => rest(context)(e),
    }
}

fn is_not_found(e: &ClientError) -> bool {
    matches!(e, ClientError::Http { status: 404, .. })
}

/// Mount access only; raw block is refused with a reason.
fn check_capabilities(caps: &[csi::VolumeCapability]) -> Result<()> {
    use csi::volume_capability::AccessType;
    if caps.is_empty() {
        return Err(ControllerError::MissingField("volume_capabilities"));
    }
    for c in caps {
        match &c.access_type {
            Some(AccessType::Mount(m)) => {
                if !m.fs_type.is_empty() && m.fs_type != "glusterfs" {
                    return Err(ControllerError::UnsupportedCapability(format!(
                        "fs_type {:?} is not supported: GlusterFS volumes are mounted as glusterfs",
                        m.fs_type
                    )));
                }
            }
            Some(AccessType::Block(_)) => {
                return Err(ControllerError::UnsupportedCapability(
                    "raw block access is not supported: GlusterFS volumes are file systems (use volumeMode: Filesystem)".into(),
                ))
            }
            None => return Err(ControllerError::MissingField("volume_capability.access_type")),
        }
        if c.access_mode.is_none() {
            return Err(ControllerError::MissingField(
                "volume_capability.access_mode",
            ));
        }
    }
    Ok(())
}

impl Inner {
    /// A volume of ours by CSI volume id; `None` when the server no longer has it.
    async fn our_volume(
        &self,
        volume_id: &str,
        secrets: &HashMap<String, String>,
    ) -> Result<(Endpoint, VolumeRef, Option<VolumeInfoResponse>)> {
        if volume_id.is_empty() {
            return Err(ControllerError::MissingField("volume_id"));
        }
        let r = volume_id::decode(volume_id)?;
        let ep = self
            .servers
            .resolve(&params::rest_from_secrets(secrets), r.server.as_deref())?;
        let info = match ep.client.volume_info(&r.id).await {
            Ok(info) => info,
            Err(e) if is_not_found(&e) => return Ok((ep, r, None)),
            Err(e) => return Err(rest(format!("reading volume {} on {}", r.id, ep.url))(e)),
        };
        if params::marker_of(&info.glustervolumeoptions).is_none() {
            return Err(ControllerError::VolumeId(
                volume_id::VolumeIdError::Foreign(volume_id.to_string()),
            ));
        }
        Ok((ep, r, Some(info)))
    }

    fn csi_volume(&self, ep: &Endpoint, info: &VolumeInfoResponse) -> Result<csi::Volume> {
        let server = (!ep.is_default).then_some(ep.url.as_str());
        Ok(csi::Volume {
            capacity_bytes: info.size.saturating_mul(GIB as i64),
            volume_id: volume_id::encode(&info.id, server)?,
            volume_context: context::of(info),
            ..Default::default()
        })
    }

    /// The create itself, run in its own task: gid, then create or clone (+expand).
    async fn create(
        self: Arc<Self>,
        ep: Endpoint,
        p: CreateParams,
        csi_name: String,
        name: String,
        size_gib: u64,
        source: Option<(String, VolumeRef)>,
    ) -> Result<VolumeInfoResponse> {
        let info = match source {
            Some((source_csi_id, r)) => {
                self.clone_volume(&ep, &source_csi_id, &r, &name, size_gib)
                    .await?
            }
            None => {
                // A finished create leaves `reserved` only after the index has its volume, but
                // that can happen between reading the index and locking `reserved`: check the
                // index again once the gid is reserved, and pick again if it was taken.
                let gid = loop {
                    let used = ep.state.index.used_gids().await;
                    let gid = {
                        let mut reserved = ep.state.reserved_gids();
                        let all: std::collections::BTreeSet<u32> =
                            used.union(&reserved).copied().collect();
                        let gid = params::pick_gid(&all, p.gid_range.0, p.gid_range.1).ok_or_else(
                            || {
                                ControllerError::Unsupported(format!(
                                    "no free gid left in gidMin..gidMax ({}..{})",
                                    p.gid_range.0, p.gid_range.1
                                ))
                            },
                        )?;
                        reserved.insert(gid);
                        gid
                    };
                    if !ep.state.index.used_gids().await.contains(&gid) {
                        break gid;
                    }
                    ep.state.reserved_gids().remove(&gid);
                };
                // As the in-tree provisioner: snapshots on, thin pool = size x factor.
                let req = params::create_request(&p, &name, &csi_name, size_gib, gid);
                let r = ep.client.volume_create(&req).await;
                if let Ok(info) = &r {
                    // Into the index before the gid leaves `reserved`: no moment without both.
                    ep.state.index.upsert(info).await;
                }
                ep.state.reserved_gids().remove(&gid);
                r.map_err(create_error(
                    &name,
                    format!("creating volume {name} on {}", ep.url),
                ))?
            }
        };
        Ok(info)
    }

    async fn clone_volume(
        &self,
        ep: &Endpoint,
        source_csi_id: &str,
        r: &VolumeRef,
        name: &str,
        size_gib: u64,
    ) -> Result<VolumeInfoResponse> {
        let src = match ep.client.volume_info(&r.id).await {
            Ok(i) => i,
            Err(e) if is_not_found(&e) => {
                return Err(ControllerError::SourceNotFound(source_csi_id.to_string()))
            }
            Err(e) => return Err(rest(format!("reading volume {} on {}", r.id, ep.url))(e)),
        };
        if params::marker_of(&src.glustervolumeoptions).is_none() {
            return Err(ControllerError::VolumeId(
                volume_id::VolumeIdError::Foreign(source_csi_id.to_string()),
            ));
        }
        let src_gib = u64::try_from(src.size).unwrap_or(0);
        let size_gib = if size_gib == 0 { src_gib } else { size_gib };
        if size_gib < src_gib {
            return Err(ControllerError::OutOfRange(format!(
                "a clone of {source_csi_id} needs at least its size, {src_gib} GiB; {size_gib} GiB requested"
            )));
        }
        let mut info = ep
            .client
            .volume_clone(
                &r.id,
                &VolumeCloneRequest {
                    name: name.to_string(),
                },
            )
            .await
            .map_err(create_error(
                name,
                format!("cloning volume {} as {name} on {}", r.id, ep.url),
            ))?;
        ep.state.index.upsert(&info).await;
        if size_gib > src_gib {
            info = ep
                .client
                .volume_expand(
                    &info.id,
                    &VolumeExpandRequest {
                        expand_size: (size_gib - src_gib) as i64,
                    },
                )
                .await
                .map_err(rest(format!(
                    "expanding the clone {name} to {size_gib} GiB on {}",
                    ep.url
                )))?;
            ep.state.index.upsert(&info).await;
        }
        Ok(info)
    }

    async fn create_volume(self: &Arc<Self>, req: csi::CreateVolumeRequest) -> Result<csi::Volume> {
        if req.name.is_empty() {
            return Err(ControllerError::MissingField("name"));
        }
        check_capabilities(&req.volume_capabilities)?;
        let p = params::parse_create(&req.parameters, &req.secrets)?;
        let (required, limit) = req
            .capacity_range
            .as_ref()
            .map(|c| (c.required_bytes, c.limit_bytes))
            .unwrap_or((0, 0));
        let size_gib = params::capacity_gib(required, limit)?;
        let name = params::gluster_volume_name(&p, &req.name)?;
        let ep = self.servers.resolve(&p.rest, None)?;
        if !ep.is_default {
            // A volume whose id cannot be returned would be leaked: refuse before creating.
            volume_id::check_server(&ep.url)?;
        }

        let source = match req.volume_content_source.as_ref().and_then(|s| s.r#type.as_ref()) {
            None => None,
            Some(csi::volume_content_source::Type::Snapshot(_)) => {
                return Err(ControllerError::Unsupported(
                    "snapshots are not supported: clone from a volume instead (dataSource kind PersistentVolumeClaim)".into(),
                ))
            }
            Some(csi::volume_content_source::Type::Volume(v)) => {
                let r = volume_id::decode(&v.volume_id)?;
                let src_server = r.server.clone().unwrap_or_else(|| {
                    self.servers.defaults().url.clone().unwrap_or_default()
                });
                if src_server != ep.url {
                    return Err(ControllerError::Unsupported(format!(
                        "cannot clone {} from {src_server} onto {}: a clone lives on the server of its source",
                        v.volume_id, ep.url
                    )));
                }
                Some((v.volume_id.clone(), r))
            }
        };
        // A clone without a capacity range gets its source's size: 0 tells clone_volume so
        // (capacity_gib never gives 0), and any existing volume of the name fits it.
        let size_gib = if source.is_some() && required == 0 && limit == 0 {
            0
        } else {
            size_gib
        };

        match self.inflight.claim(&ep.url, &name) {
            Claim::Running => return Err(ControllerError::CreateInProgress(name)),
            Claim::Failed(e) => return Err(e),
            Claim::Acquired => {}
        }
        // From here the name is ours until `finish`.
        let existing = ep.state.index.find(&ep.client, &name).await;
        let existing = match existing {
            Ok(v) => v,
            Err(e) => {
                self.inflight.finish(&ep.url, &name, None);
                return Err(rest(format!("listing volumes on {}", ep.url))(e));
            }
        };
        if let Some(found) = existing {
            self.inflight.finish(&ep.url, &name, None);
            let is_clone = source.is_some();
            return self
                .existing(&ep, found, &req.name, &name, size_gib, limit, is_clone)
                .await;
        }

        let (tx, rx) = tokio::sync::oneshot::channel();
        let inner = Arc::clone(self);
        let task_ep = ep.clone();
        let task_name = name.clone();
        let csi_name = req.name.clone();
        tokio::spawn(async move {
            let url = task_ep.url.clone();
            let r = inner
                .clone()
                .create(task_ep, p, csi_name, task_name.clone(), size_gib, source)
                .await;
            // A failure nobody heard of is kept for the provisioner's next retry.
            match tx.send(r) {
                Ok(()) => inner.inflight.finish(&url, &task_name, None),
                Err(Err(e)) => inner.inflight.finish(&url, &task_name, Some(e)),
                Err(Ok(_)) => inner.inflight.finish(&url, &task_name, None),
            }
        });
        let info = rx
            .await
            .map_err(|_| ControllerError::CreateInProgress(name.clone()))??;
        self.csi_volume(&ep, &info)
    }

    /// CreateVolume found a volume of that name: the same request again, or a conflict.
    #[allow(clippy::too_many_arguments)]
    async fn existing(
        &self,
        ep: &Endpoint,
        found: VolumeSummary,
        csi_name: &str,
        name: &str,
        size_gib: u64,
        limit_bytes: i64,
        is_clone: bool,
    ) -> Result<csi::Volume> {
        if !found.ours {
            return Err(ControllerError::NameConflict {
                name: name.to_string(),
                id: found.id,
                existing_gib: found.size_gib,
                wanted: "a volume made by heqet-csi".into(),
            });
        }
        // Two CSI names can map to one gluster name (`a.b`, `a-b`); the marker tells them
        // apart. A clone carries its source's marker, so only plain creates are compared.
        if !is_clone && found.marker.as_deref() != Some(csi_name) {
            return Err(ControllerError::NameConflict {
                name: name.to_string(),
                id: found.id,
                existing_gib: found.size_gib,
                wanted: format!("the volume of CSI name {csi_name}"),
            });
        }
        let info = ep
            .client
            .volume_info(&found.id)
            .await
            .map_err(rest(format!("reading volume {} on {}", found.id, ep.url)))?;
        let have = u64::try_from(info.size).unwrap_or(0);
        let fits_limit = limit_bytes <= 0 || have.saturating_mul(GIB) <= limit_bytes as u64;
        if have < size_gib || !fits_limit {
            let wanted = if limit_bytes > 0 {
                format!("{size_gib} GiB, at most {limit_bytes} bytes")
            } else {
                format!("at least {size_gib} GiB")
            };
            return Err(ControllerError::NameConflict {
                name: name.to_string(),
                id: info.id,
                existing_gib: have,
                wanted,
            });
        }
        self.csi_volume(ep, &info)
    }

    async fn delete_volume(&self, req: csi::DeleteVolumeRequest) -> Result<()> {
        let (ep, r, info) = self.our_volume(&req.volume_id, &req.secrets).await?;
        if info.is_none() {
            ep.state.index.remove(&r.id).await;
            return Ok(());
        }
        match ep.client.volume_delete(&r.id).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(rest(format!("deleting volume {} on {}", r.id, ep.url))(e)),
        }
        ep.state.index.remove(&r.id).await;
        Ok(())
    }

    async fn expand_volume(
        &self,
        req: csi::ControllerExpandVolumeRequest,
    ) -> Result<csi::ControllerExpandVolumeResponse> {
        let (ep, r, info) = self.our_volume(&req.volume_id, &req.secrets).await?;
        let info = info.ok_or_else(|| ControllerError::VolumeNotFound(req.volume_id.clone()))?;
        if let Some(c) = &req.volume_capability {
            check_capabilities(std::slice::from_ref(c))?;
        }
        let (required, limit) = req
            .capacity_range
            .as_ref()
            .map(|c| (c.required_bytes, c.limit_bytes))
            .unwrap_or((0, 0));
        if required <= 0 && limit <= 0 {
            return Err(ControllerError::MissingField("capacity_range"));
        }
        let want = params::capacity_gib(required, limit)?;
        let have = u64::try_from(info.size).unwrap_or(0);
        let info = if have >= want {
            info
        } else {
            let grown = ep
                .client
                .volume_expand(
                    &r.id,
                    &VolumeExpandRequest {
                        expand_size: (want - have) as i64,
                    },
                )
                .await
                .map_err(rest(format!(
                    "expanding volume {} to {want} GiB on {}",
                    r.id, ep.url
                )))?;
            ep.state.index.upsert(&grown).await;
            grown
        };
        Ok(csi::ControllerExpandVolumeResponse {
            capacity_bytes: info.size.saturating_mul(GIB as i64),
            // A GlusterFS mount sees the new size at once: nothing to do on the nodes.
            node_expansion_required: false,
        })
    }

    async fn validate(
        &self,
        req: csi::ValidateVolumeCapabilitiesRequest,
    ) -> Result<csi::ValidateVolumeCapabilitiesResponse> {
        let (_, _, info) = self.our_volume(&req.volume_id, &req.secrets).await?;
        if info.is_none() {
            return Err(ControllerError::VolumeNotFound(req.volume_id.clone()));
        }
        if req.volume_capabilities.is_empty() {
            return Err(ControllerError::MissingField("volume_capabilities"));
        }
        // Every access mode works on a shared file system; only the access type can be wrong.
        match check_capabilities(&req.volume_capabilities) {
            Ok(()) => Ok(csi::ValidateVolumeCapabilitiesResponse {
                confirmed: Some(csi::validate_volume_capabilities_response::Confirmed {
                    volume_context: req.volume_context,
                    volume_capabilities: req.volume_capabilities,
                    parameters: req.parameters,
                    mutable_parameters: req.mutable_parameters,
                }),
                message: String::new(),
            }),
            Err(ControllerError::UnsupportedCapability(why)) => {
                Ok(csi::ValidateVolumeCapabilitiesResponse {
                    confirmed: None,
                    message: why,
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn list(&self, req: csi::ListVolumesRequest) -> Result<csi::ListVolumesResponse> {
        let ep = match self.servers.default_endpoint() {
            Some(ep) => ep?,
            None => return Err(ControllerError::NoServer),
        };
        let start = if req.starting_token.is_empty() {
            None
        } else {
            let t = &req.starting_token;
            if t.len() != 32
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(ControllerError::BadToken(t.clone()));
            }
            Some(t.clone())
        };
        if req.max_entries < 0 {
            return Err(ControllerError::OutOfRange(format!(
                "max_entries must not be negative, got {}",
                req.max_entries
            )));
        }
        ep.state
            .index
            .refresh(&ep.client)
            .await
            .map_err(rest(format!("listing volumes on {}", ep.url)))?;
        let all = ep.state.index.ours_sorted().await;
        // The token is the id to resume at; a volume deleted since is simply skipped over.
        let from = start
            .map(|t| all.partition_point(|s| s.id < t))
            .unwrap_or(0);
        let max = if req.max_entries == 0 {
            usize::MAX
        } else {
            req.max_entries as usize
        };
        let page: Vec<&VolumeSummary> = all[from..].iter().take(max).collect();
        let next_token = all
            .get(from + page.len())
            .map(|s| s.id.clone())
            .unwrap_or_default();
        let mut entries = Vec::with_capacity(page.len());
        for s in page {
            entries.push(csi::list_volumes_response::Entry {
                volume: Some(csi::Volume {
                    capacity_bytes: (s.size_gib.saturating_mul(GIB)) as i64,
                    volume_id: volume_id::encode(&s.id, None)?,
                    ..Default::default()
                }),
                status: None,
            });
        }
        Ok(csi::ListVolumesResponse {
            entries,
            next_token,
        })
    }

    async fn capacity(&self, req: csi::GetCapacityRequest) -> Result<csi::GetCapacityResponse> {
        if !req.volume_capabilities.is_empty() {
            check_capabilities(&req.volume_capabilities)?;
        }
        let p = params::parse_create(&req.parameters, &HashMap::new())?;
        let ep = self.servers.resolve(&p.rest, None)?;
        let ctx = || format!("reading the topology of {}", ep.url);
        let mut clusters = Vec::new();
        let ids = ep
            .client
            .cluster_list()
            .await
            .map_err(rest(ctx()))?
            .clusters;
        for cid in ids {
            if !p.clusters.is_empty() && !p.clusters.contains(&cid) {
                continue;
            }
            let c = ep.client.cluster_info(&cid).await.map_err(rest(ctx()))?;
            if !c.file {
                continue;
            }
            let mut nodes = Vec::new();
            for nid in &c.nodes {
                let n = ep.client.node_info(nid).await.map_err(rest(ctx()))?;
                if n.state != heqet_api::types::state::ONLINE {
                    continue;
                }
                nodes.push(
                    n.devices
                        .iter()
                        .filter(|d| d.state == heqet_api::types::state::ONLINE)
                        .map(|d| d.storage.free)
                        .collect(),
                );
            }
            clusters.push(ClusterFree { nodes });
        }
        let bytes = capacity::max_volume_bytes(&clusters, &p.durability, p.snap_factor);
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        // The estimate is what one create can get, which is also the largest volume.
        Ok(csi::GetCapacityResponse {
            available_capacity: bytes,
            maximum_volume_size: Some(bytes),
            ..Default::default()
        })
    }
}

fn capability(rpc: Rpc) -> csi::ControllerServiceCapability {
    csi::ControllerServiceCapability {
        r#type: Some(csi::controller_service_capability::Type::Rpc(
            csi::controller_service_capability::Rpc { r#type: rpc as i32 },
        )),
    }
}

#[tonic::async_trait]
impl csi::controller_server::Controller for ControllerService {
    async fn create_volume(
        &self,
        request: Request<csi::CreateVolumeRequest>,
    ) -> std::result::Result<Response<csi::CreateVolumeResponse>, Status> {
        let volume = self.inner.create_volume(request.into_inner()).await?;
        Ok(Response::new(csi::CreateVolumeResponse {
            volume: Some(volume),
        }))
    }

    async fn delete_volume(
        &self,
        request: Request<csi::DeleteVolumeRequest>,
    ) -> std::result::Result<Response<csi::DeleteVolumeResponse>, Status> {
        self.inner.delete_volume(request.into_inner()).await?;
        Ok(Response::new(csi::DeleteVolumeResponse {}))
    }

    async fn controller_publish_volume(
        &self,
        _request: Request<csi::ControllerPublishVolumeRequest>,
    ) -> std::result::Result<Response<csi::ControllerPublishVolumeResponse>, Status> {
        Err(Status::unimplemented(
            "GlusterFS volumes need no attach: the CSIDriver object says attachRequired: false",
        ))
    }

    async fn controller_unpublish_volume(
        &self,
        _request: Request<csi::ControllerUnpublishVolumeRequest>,
    ) -> std::result::Result<Response<csi::ControllerUnpublishVolumeResponse>, Status> {
        Err(Status::unimplemented(
            "GlusterFS volumes need no attach: the CSIDriver object says attachRequired: false",
        ))
    }

    async fn validate_volume_capabilities(
        &self,
        request: Request<csi::ValidateVolumeCapabilitiesRequest>,
    ) -> std::result::Result<Response<csi::ValidateVolumeCapabilitiesResponse>, Status> {
        Ok(Response::new(
            self.inner.validate(request.into_inner()).await?,
        ))
    }

    async fn list_volumes(
        &self,
        request: Request<csi::ListVolumesRequest>,
    ) -> std::result::Result<Response<csi::ListVolumesResponse>, Status> {
        Ok(Response::new(self.inner.list(request.into_inner()).await?))
    }

    async fn get_capacity(
        &self,
        request: Request<csi::GetCapacityRequest>,
    ) -> std::result::Result<Response<csi::GetCapacityResponse>, Status> {
        Ok(Response::new(
            self.inner.capacity(request.into_inner()).await?,
        ))
    }

    async fn controller_get_capabilities(
        &self,
        _request: Request<csi::ControllerGetCapabilitiesRequest>,
    ) -> std::result::Result<Response<csi::ControllerGetCapabilitiesResponse>, Status> {
        Ok(Response::new(csi::ControllerGetCapabilitiesResponse {
            capabilities: [
                Rpc::CreateDeleteVolume,
                Rpc::ExpandVolume,
                Rpc::CloneVolume,
                Rpc::ListVolumes,
                Rpc::GetCapacity,
            ]
            .into_iter()
            .map(capability)
            .collect(),
        }))
    }

    async fn create_snapshot(
        &self,
        _request: Request<csi::CreateSnapshotRequest>,
    ) -> std::result::Result<Response<csi::CreateSnapshotResponse>, Status> {
        Err(Status::unimplemented("snapshots are not supported"))
    }

    async fn delete_snapshot(
        &self,
        _request: Request<csi::DeleteSnapshotRequest>,
    ) -> std::result::Result<Response<csi::DeleteSnapshotResponse>, Status> {
        Err(Status::unimplemented("snapshots are not supported"))
    }

    async fn list_snapshots(
        &self,
        _request: Request<csi::ListSnapshotsRequest>,
    ) -> std::result::Result<Response<csi::ListSnapshotsResponse>, Status> {
        Err(Status::unimplemented("snapshots are not supported"))
    }

    async fn controller_expand_volume(
        &self,
        request: Request<csi::ControllerExpandVolumeRequest>,
    ) -> std::result::Result<Response<csi::ControllerExpandVolumeResponse>, Status> {
        Ok(Response::new(
            self.inner.expand_volume(request.into_inner()).await?,
        ))
    }

    async fn controller_get_volume(
        &self,
        _request: Request<csi::ControllerGetVolumeRequest>,
    ) -> std::result::Result<Response<csi::ControllerGetVolumeResponse>, Status> {
        Err(Status::unimplemented("GET_VOLUME is not offered"))
    }

    async fn controller_modify_volume(
        &self,
        _request: Request<csi::ControllerModifyVolumeRequest>,
    ) -> std::result::Result<Response<csi::ControllerModifyVolumeResponse>, Status> {
        Err(Status::unimplemented("MODIFY_VOLUME is not offered"))
    }
}
