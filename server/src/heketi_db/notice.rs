//! What an import did not carry, or carried with a guess: each is printed, none is silent.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// heqet has no block volumes; the hosting volume keeps listing the id, so heqet never
    /// deletes a hosting volume that still holds one.
    BlockVolume {
        id: String,
        name: String,
        hosting: String,
    },
    /// heketi's own bookkeeping (schema flags, generation id): heqet has its own.
    DbAttribute { key: String, value: String },
    /// Keys of records that heqet does not know, counted per kind and key.
    UnknownKey {
        kind: &'static str,
        key: String,
        count: usize,
        example: String,
    },
    /// The `clusters` a volume was requested on (heqet does not echo it).
    RequestedClusters { volume: String },
    /// heqet computes the mount from the cluster's nodes; heketi's stored one differs.
    MountDiffers {
        volume: String,
        stored: Vec<String>,
        computed: Vec<String>,
    },
    /// `Info.glustervolumeoptions` and the entry's `GlusterVolumeOptions` differ; the
    /// latter (what heketi set on gluster) is kept.
    OptionsDiffer { volume: String },
    /// Kept verbatim, but heqet's option parser would refuse it for a new volume.
    OddOption {
        volume: String,
        option: String,
        reason: String,
    },
    /// A device whose figures do not add up (kept as heketi had them).
    Accounting { device: String, message: String },
    /// The clusters' `block`/`file` flags are missing (old heketi): both set on, as heketi
    /// reads such clusters.
    ClusterFlags { cluster: String },
    /// Links between a device remove and its brick evictions (heqet runs the evictions as
    /// operations of their own and needs no link).
    OperationLink { op: String, other: String },
    /// A pending heketi clone's brick records, which heqet's cleanup reads from gluster.
    Operation { op: String, message: String },
    /// Volumes whose gluster brick order was inferred (heketi's database does not keep it).
    BrickOrderGuessed { volumes: Vec<String> },
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::BlockVolume { id, name, hosting } => write!(
                f,
                "block volume {id} ({name}) on hosting volume {hosting} is not carried: heqet has no \
                 block volumes; the hosting volume keeps listing it, so heqet will not delete it"
            ),
            Notice::DbAttribute { key, value } => {
                write!(f, "db attribute {key}={value} is not carried (heketi's own bookkeeping)")
            }
            Notice::UnknownKey {
                kind,
                key,
                count,
                example,
            } => write!(
                f,
                "unknown key {key:?} in {count} {kind} record(s) (e.g. {example}) is not carried"
            ),
            Notice::RequestedClusters { volume } => write!(
                f,
                "volume {volume}: the list of clusters it was requested on is not carried"
            ),
            Notice::MountDiffers {
                volume,
                stored,
                computed,
            } => write!(
                f,
                "volume {volume}: heketi's stored mount hosts [{}] differ from the storage hosts of \
                 its cluster's nodes [{}], which heqet answers",
                stored.join(" "),
                computed.join(" ")
            ),
            Notice::OptionsDiffer { volume } => write!(
                f,
                "volume {volume}: Info.glustervolumeoptions differs from GlusterVolumeOptions; \
                 GlusterVolumeOptions is kept"
            ),
            Notice::OddOption {
                volume,
                option,
                reason,
            } => write!(
                f,
                "volume {volume}: option {option:?} is kept as it is, though heqet would refuse \
                 it for a new volume: {reason}"
            ),
            Notice::Accounting { device, message } => {
                write!(f, "device {device}: {message} (kept as heketi had it)")
            }
            Notice::ClusterFlags { cluster } => write!(
                f,
                "cluster {cluster} has no block/file flags; both are set on, as heketi does"
            ),
            Notice::OperationLink { op, other } => write!(
                f,
                "pending operation {op}: its link to operation {other} is not carried (heqet \
                 cleans each up on its own)"
            ),
            Notice::Operation { op, message } => write!(f, "pending operation {op}: {message}"),
            Notice::BrickOrderGuessed { volumes } => write!(
                f,
                "{} volume(s) with more than one brick had their gluster brick order inferred: \
                 heketi's database does not record it. Import again with --gluster-volume-info \
                 FILE (the output of `gluster volume info --xml` on a node of each cluster) to \
                 take it from gluster; with a wrong guess a brick eviction may choose a new brick \
                 next to another of its replica set, and a clone may record its bricks against \
                 the wrong devices. Volumes: {}",
                volumes.len(),
                volumes.join(" ")
            ),
        }
    }
}
