//! heqet-csi's controller service over its real gRPC socket, against an in-process heqet
//! server (mock executor) over real HTTP. Every test starts its own heqet server and
//! controller, so tests run in parallel and see only their own volumes.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use common::*;
use heqet_api::types::{VolumeCreateRequest, VolumeDurabilityInfo};
use heqet_csi::proto::csi::v1 as csi;
use heqet_executor::mock::MockOp;
use tonic::{Code, Request};

use csi::volume_capability::access_mode::Mode;

const MARKER: &str = "user.heqet-csi.name";

/// A volume made over REST, without heqet-csi's marker.
async fn foreign_volume(h: &Heqet, name: &str) -> String {
    let info = h
        .rest
        .volume_create(&VolumeCreateRequest {
            size: 1,
            name: name.to_string(),
            durability: VolumeDurabilityInfo {
                kind: "replicate".into(),
                replicate: heqet_api::types::ReplicaDurability { replica: 3 },
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .expect("REST volume create");
    info.id
}

fn delete_req(id: &str) -> csi::DeleteVolumeRequest {
    csi::DeleteVolumeRequest {
        volume_id: id.to_string(),
        secrets: HashMap::new(),
    }
}

fn expand_req(id: &str, required: i64) -> csi::ControllerExpandVolumeRequest {
    csi::ControllerExpandVolumeRequest {
        volume_id: id.to_string(),
        capacity_range: Some(csi::CapacityRange {
            required_bytes: required,
            limit_bytes: 0,
        }),
        secrets: HashMap::new(),
        volume_capability: Some(rwx()),
    }
}

fn list_req(max: i32, token: &str) -> csi::ListVolumesRequest {
    csi::ListVolumesRequest {
        max_entries: max,
        starting_token: token.to_string(),
    }
}

fn gid_of(v: &csi::Volume) -> Option<i64> {
    v.volume_context.get("gid").and_then(|g| g.parse().ok())
}

// ---------------------------------------------------------------------------- CreateVolume

#[tokio::test]
async fn create_defaults_to_replicate_3_with_context_and_marker() {
    let (h, mut csi) = setup(4).await;
    let v = create(&mut csi.client, create_req("pvc-default", 0, &[])).await;

    // The CSI volume id is the bare heketi id (default server).
    assert!(is_heketi_id(&v.volume_id), "{}", v.volume_id);
    assert_eq!(h.volumes().await, vec![v.volume_id.clone()]);
    // No capacity range: 1 GiB.
    assert_eq!(v.capacity_bytes, GIB);

    let info = h.volume(&v.volume_id).await;
    assert_eq!(info.size, 1);
    assert_eq!(info.name, "pvc-default");
    assert_eq!(info.durability.kind, "replicate");
    assert_eq!(info.durability.replicate.replica, 3);
    assert_eq!(info.bricks.len(), 3);
    let nodes: HashSet<&str> = info.bricks.iter().map(|b| b.node.as_str()).collect();
    assert_eq!(nodes.len(), 3, "replica bricks on distinct nodes");
    assert_eq!(marker(&info).as_deref(), Some("pvc-default"));
    assert!(info.snapshot.enable);

    let ctx = &v.volume_context;
    assert_eq!(ctx["glustervolume"], "pvc-default");
    let hosts = &info.mount.glusterfs.hosts;
    assert_eq!(hosts.len(), 4);
    assert_eq!(ctx["glusterserver"], hosts[0]);
    assert_eq!(
        ctx["backupvolfileservers"],
        hosts[1..].join(","),
        "every other host of the cluster"
    );
    assert_eq!(ctx["volumetype"], "replicate:3");
    assert_eq!(ctx["heketivolumeid"], v.volume_id);
    // Default gid range starts at 2000.
    assert_eq!(gid_of(&v), Some(info.gid));
    assert!(info.gid >= 2000, "{}", info.gid);
}

#[tokio::test]
async fn create_volume_types_none_and_disperse() {
    let (h, mut csi) = setup(4).await;
    let none = create(
        &mut csi.client,
        create_req("pvc-none", 2 * GIB, &[("volumetype", "none")]),
    )
    .await;
    let info = h.volume(&none.volume_id).await;
    assert_eq!(info.durability.kind, "none");
    assert_eq!(info.bricks.len(), 1);
    assert_eq!(none.volume_context["volumetype"], "none");

    let ec = create(
        &mut csi.client,
        create_req("pvc-ec", 2 * GIB, &[("volumetype", "disperse:2:1")]),
    )
    .await;
    let info = h.volume(&ec.volume_id).await;
    assert_eq!(info.durability.kind, "disperse");
    assert_eq!(
        (
            info.durability.disperse.data,
            info.durability.disperse.redundancy
        ),
        (2, 1)
    );
    assert_eq!(info.bricks.len(), 3);
    let nodes: HashSet<&str> = info.bricks.iter().map(|b| b.node.as_str()).collect();
    assert_eq!(nodes.len(), 3);
    assert_eq!(ec.volume_context["volumetype"], "disperse:2:1");

    let r2 = create(
        &mut csi.client,
        create_req("pvc-r2", GIB, &[("volumetype", "replicate:2")]),
    )
    .await;
    let info = h.volume(&r2.volume_id).await;
    assert_eq!(info.durability.replicate.replica, 2);
    assert_eq!(info.bricks.len(), 2);
}

#[tokio::test]
async fn create_honours_clusterid() {
    let h = Heqet::start(HeqetOptions::default()).await;
    let c1 = h.cluster_at(0, 3, 1).await;
    let c2 = h.cluster_at(10, 3, 1).await;
    let mut csi = Csi::start(Some(&h.url), None).await;
    // Several volumes per cluster, so a random placement cannot pass by chance.
    for i in 0..3 {
        for c in [&c1, &c2] {
            let name = format!("pvc-{}-{i}", &c[..6]);
            let v = create(&mut csi.client, create_req(&name, 0, &[("clusterid", c)])).await;
            assert_eq!(&h.volume(&v.volume_id).await.cluster, c, "{name}");
        }
    }
    // A cluster list: only those clusters.
    let v = create(
        &mut csi.client,
        create_req("pvc-list", 0, &[("clusterid", &format!("{c2}, {c2}"))]),
    )
    .await;
    assert_eq!(h.volume(&v.volume_id).await.cluster, c2);
    // A well-formed id of no cluster: heketi says so.
    fails(
        "unknown clusterid",
        csi.client
            .create_volume(create_req(
                "pvc-nocluster",
                0,
                &[("clusterid", "0123456789abcdef0123456789abcdef")],
            ))
            .await,
        Code::InvalidArgument,
        &[
            "creating volume pvc-nocluster",
            "0123456789abcdef0123456789abcdef",
            "not found",
        ],
    );
}

#[tokio::test]
async fn create_passes_volumeoptions_and_sets_the_marker() {
    let (h, mut csi) = setup(3).await;
    let v = create(
        &mut csi.client,
        create_req(
            "pvc-opts",
            0,
            &[(
                "volumeoptions",
                "performance.quick-read off,  user.note   a b ,",
            )],
        ),
    )
    .await;
    let opts = h.volume(&v.volume_id).await.glustervolumeoptions;
    for want in [
        "performance.quick-read off",
        "user.note a b",
        "user.heqet-csi.name pvc-opts",
    ] {
        assert!(opts.iter().any(|o| o == want), "{want:?} not in {opts:?}");
    }
    // The marker cannot be set by a class.
    fails(
        "marker in volumeoptions",
        csi.client
            .create_volume(create_req(
                "pvc-fake",
                0,
                &[("volumeoptions", "user.heqet-csi.name other")],
            ))
            .await,
        Code::InvalidArgument,
        &["volumeoptions", MARKER],
    );
}

#[tokio::test]
async fn create_with_volumenameprefix_and_pvc_keys() {
    let (h, mut csi) = setup(3).await;
    let csi_name = "pvc-4c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f";
    let v = create(
        &mut csi.client,
        create_req(
            csi_name,
            0,
            &[
                ("volumenameprefix", "team-a"),
                ("csi.storage.k8s.io/pvc/name", "db.data"),
                ("csi.storage.k8s.io/pvc/namespace", "shop"),
                ("csi.storage.k8s.io/pv/name", csi_name),
            ],
        ),
    )
    .await;
    // in-tree's shape <prefix>_<namespace>_<pvc>_<unique>, '.' not being a gluster name
    // character.
    let want = format!("team-a_shop_db-data_{csi_name}");
    let info = h.volume(&v.volume_id).await;
    assert_eq!(info.name, want);
    assert_eq!(v.volume_context["glustervolume"], want);
    // The marker keeps the CSI name itself.
    assert_eq!(marker(&info).as_deref(), Some(csi_name));

    // Prefix without the sidecar's PVC keys: <prefix>_<csi name>.
    let v = create(
        &mut csi.client,
        create_req("pvc-plain", 0, &[("volumenameprefix", "team-a")]),
    )
    .await;
    assert_eq!(h.volume(&v.volume_id).await.name, "team-a_pvc-plain");

    fails(
        "bad prefix",
        csi.client
            .create_volume(create_req("pvc-x", 0, &[("volumenameprefix", "team_a")]))
            .await,
        Code::InvalidArgument,
        &["volumenameprefix", "team_a"],
    );
}

#[tokio::test]
async fn gid_range_gives_distinct_gids_until_it_is_used_up() {
    let (h, mut csi) = setup(3).await;
    let params = [("gidMin", "40000"), ("gidMax", "40002")];
    let mut by_gid = HashMap::new();
    for i in 0..3 {
        let v = create(
            &mut csi.client,
            create_req(&format!("pvc-g{i}"), 0, &params),
        )
        .await;
        let gid = h.volume(&v.volume_id).await.gid;
        assert_eq!(gid_of(&v), Some(gid), "the context carries the gid");
        assert!(by_gid.insert(gid, v.volume_id).is_none(), "gid {gid} twice");
    }
    assert_eq!(
        by_gid.keys().copied().collect::<BTreeSet<i64>>(),
        BTreeSet::from([40000, 40001, 40002])
    );
    fails(
        "gid range used up",
        csi.client
            .create_volume(create_req("pvc-g3", 0, &params))
            .await,
        Code::InvalidArgument,
        &["no free gid", "40000..40002"],
    );
    assert_eq!(h.volumes().await.len(), 3, "nothing was created");

    // A deleted volume's gid is free again.
    ok(
        "DeleteVolume",
        csi.client.delete_volume(delete_req(&by_gid[&40001])).await,
    );
    let v = create(&mut csi.client, create_req("pvc-g4", 0, &params)).await;
    assert_eq!(gid_of(&v), Some(40001));
    assert_eq!(h.volume(&v.volume_id).await.gid, 40001);
}

#[tokio::test]
async fn snapfactor_sizes_the_thin_pool() {
    let (h, mut csi) = setup(3).await;
    let before = h.free_kib().await;
    let v = create(
        &mut csi.client,
        create_req("pvc-snap", 4 * GIB, &[("snapfactor", "2.5")]),
    )
    .await;
    let info = h.volume(&v.volume_id).await;
    assert!(info.snapshot.enable);
    assert_eq!(info.snapshot.factor, 2.5);
    // Three bricks of 4 GiB, each in a thin pool of 10 GiB (+ metadata).
    let used = before - h.free_kib().await;
    let pools = 3 * 10 * (1 << 20);
    assert!(
        used >= pools && used < pools + 3 * (1 << 20),
        "{used} KiB used"
    );
    fails(
        "snapfactor 0.5",
        csi.client
            .create_volume(create_req("pvc-snap2", 0, &[("snapfactor", "0.5")]))
            .await,
        Code::InvalidArgument,
        &["snapfactor", "0.5"],
    );
}

#[tokio::test]
async fn capacity_rounds_up_to_gib_and_honours_the_limit() {
    let (h, mut csi) = setup(3).await;
    let range = |name: &str, required: i64, limit: i64| csi::CreateVolumeRequest {
        capacity_range: Some(csi::CapacityRange {
            required_bytes: required,
            limit_bytes: limit,
        }),
        ..create_req(name, 0, &[])
    };
    for (name, required, limit, want_gib) in [
        ("pvc-r1", GIB + GIB / 2, 0, 2),
        ("pvc-r2", 1, 0, 1),
        ("pvc-r3", 3 * GIB, 3 * GIB, 3),
        // A limit alone: the largest whole GiB within it.
        ("pvc-r4", 0, 3 * GIB + GIB / 2, 3),
        ("pvc-r5", 2 * GIB + 1, 4 * GIB, 3),
    ] {
        let v = create(&mut csi.client, range(name, required, limit)).await;
        assert_eq!(v.capacity_bytes, want_gib * GIB, "{name}");
        assert_eq!(h.volume(&v.volume_id).await.size, want_gib, "{name}");
        assert!(limit == 0 || v.capacity_bytes <= limit, "{name}");
    }
    let n = h.volumes().await.len();
    for (name, required, limit) in [
        ("pvc-o1", 3 * GIB, 2 * GIB),
        // No whole GiB between the two.
        ("pvc-o2", GIB + 1, GIB + GIB / 2),
        ("pvc-o3", 0, GIB - 1),
    ] {
        fails(
            name,
            csi.client.create_volume(range(name, required, limit)).await,
            Code::OutOfRange,
            &["capacity_range", &required.to_string(), &limit.to_string()],
        );
    }
    fails(
        "negative",
        csi.client.create_volume(range("pvc-neg", -1, 0)).await,
        Code::InvalidArgument,
        &["required_bytes"],
    );
    assert_eq!(h.volumes().await.len(), n, "nothing created out of range");
}

// ----------------------------------------------------------------------------- Idempotency

#[tokio::test]
async fn the_same_request_twice_is_one_volume() {
    let (h, mut csi) = setup(3).await;
    let req = create_req("pvc-twice", 2 * GIB, &[("volumeoptions", "user.x y")]);
    let a = create(&mut csi.client, req.clone()).await;
    let b = create(&mut csi.client, req.clone()).await;
    assert_eq!(a.volume_id, b.volume_id);
    assert_eq!(a.capacity_bytes, b.capacity_bytes);
    assert_eq!(a.volume_context, b.volume_context);
    assert_eq!(h.volumes().await, vec![a.volume_id.clone()]);

    // A controller restarted in between finds it too (nothing cached).
    let mut fresh = Csi::start(Some(&h.url), None).await;
    let c = create(&mut fresh.client, req.clone()).await;
    assert_eq!(c.volume_id, a.volume_id);
    // A smaller request still fits the volume.
    let d = create(&mut fresh.client, create_req("pvc-twice", GIB, &[])).await;
    assert_eq!(d.volume_id, a.volume_id);
    assert_eq!(d.capacity_bytes, 2 * GIB);
    assert_eq!(h.volumes().await.len(), 1);
}

#[tokio::test]
async fn the_same_name_bigger_is_already_exists() {
    let (h, mut csi) = setup(3).await;
    let a = create(&mut csi.client, create_req("pvc-grow", 2 * GIB, &[])).await;
    fails(
        "bigger",
        csi.client
            .create_volume(create_req("pvc-grow", 5 * GIB, &[]))
            .await,
        Code::AlreadyExists,
        &["pvc-grow", &a.volume_id, "2 GiB", "at least 5 GiB"],
    );
    // A limit below the existing size conflicts too.
    let req = csi::CreateVolumeRequest {
        capacity_range: Some(csi::CapacityRange {
            required_bytes: 0,
            limit_bytes: GIB,
        }),
        ..create_req("pvc-grow", 0, &[])
    };
    fails(
        "limit below",
        csi.client.create_volume(req).await,
        Code::AlreadyExists,
        &["pvc-grow", "at most"],
    );
    // A name taken by a volume heqet-csi did not make.
    foreign_volume(&h, "pvc-taken").await;
    fails(
        "foreign name",
        csi.client
            .create_volume(create_req("pvc-taken", 0, &[]))
            .await,
        Code::AlreadyExists,
        &["pvc-taken", "made by heqet-csi"],
    );
    assert_eq!(h.volumes().await.len(), 2);
}

/// Polls CreateVolume until it answers something other than ABORTED.
async fn until_not_aborted(
    csi: &mut Csi,
    req: &csi::CreateVolumeRequest,
    limit: Duration,
) -> Result<csi::Volume, tonic::Status> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match csi.client.create_volume(req.clone()).await {
            Ok(r) => return Ok(r.into_inner().volume.expect("a volume")),
            Err(s) if s.code() == Code::Aborted => {
                assert!(s.message().contains("still running"), "{}", s.message());
                if tokio::time::Instant::now() > deadline {
                    panic!("{}: still ABORTED after {limit:?}", req.name);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => return Err(s),
        }
    }
}

#[tokio::test]
async fn a_create_that_outlives_its_deadline_is_aborted_then_returned() {
    let (h, mut csi) = setup(3).await;
    // Every executor call takes 700 ms: the create takes seconds.
    h.mock.set_delay(Duration::from_millis(700));
    let req = create_req("pvc-slow", GIB, &[]);
    let mut first = Request::new(req.clone());
    first.set_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let s = csi
        .client
        .create_volume(first)
        .await
        .expect_err("the deadline cuts the first call");
    assert!(
        matches!(s.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{:?}: {}",
        s.code(),
        s.message()
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    // The provisioner's retry while the create runs: ABORTED, nothing new started.
    fails(
        "retry while running",
        csi.client.create_volume(req.clone()).await,
        Code::Aborted,
        &["pvc-slow", "still running"],
    );
    let v = until_not_aborted(&mut csi, &req, Duration::from_secs(60))
        .await
        .expect("the retry after the create returns the volume");
    assert!(
        started.elapsed() > Duration::from_millis(1400),
        "the create really was slow"
    );
    h.mock.set_delay(Duration::ZERO);
    assert_eq!(h.volumes().await, vec![v.volume_id.clone()], "one volume");
    let again = create(&mut csi.client, req).await;
    assert_eq!(again.volume_id, v.volume_id);
    assert_eq!(h.volumes().await.len(), 1);
}

#[tokio::test]
async fn an_unseen_failure_is_returned_once_then_the_create_starts_afresh() {
    let (h, mut csi) = setup(3).await;
    h.mock.set_delay(Duration::from_millis(150));
    h.mock.fail(MockOp::VolumeCreate, None, None);
    let req = create_req("pvc-fail", GIB, &[]);
    let mut first = Request::new(req.clone());
    first.set_timeout(Duration::from_millis(100));
    let s = csi
        .client
        .create_volume(first)
        .await
        .expect_err("the deadline cuts the first call");
    assert!(matches!(s.code(), Code::DeadlineExceeded | Code::Cancelled));

    // The failure nobody heard of is the answer of the next retry after it happened.
    let s = until_not_aborted(&mut csi, &req, Duration::from_secs(60))
        .await
        .expect_err("the stored failure");
    assert_eq!(s.code(), Code::Internal, "{}", s.message());
    for n in ["creating volume pvc-fail", &h.url, "injected failure"] {
        assert!(s.message().contains(n), "{n:?} not in {}", s.message());
    }
    assert!(h.volumes().await.is_empty());

    // Handed out once: the retry after that creates.
    h.mock.clear_failures();
    h.mock.set_delay(Duration::ZERO);
    let v = create(&mut csi.client, req).await;
    assert_eq!(h.volumes().await, vec![v.volume_id]);
}

/// `count` CreateVolume calls at once over one connection (as the external-provisioner's
/// workers share one); all must succeed. Returns the volumes.
async fn burst(csi: &Csi, prefix: &str, count: usize) -> Vec<csi::Volume> {
    let mut tasks = Vec::new();
    for i in 0..count {
        let mut c = csi.client.clone();
        let name = format!("{prefix}-{i:03}");
        tasks.push(tokio::spawn(async move {
            let r = c.create_volume(create_req(&name, GIB, &[])).await;
            (name, r)
        }));
    }
    let mut volumes = Vec::new();
    for t in tasks {
        let (name, r) = t.await.expect("task");
        let v = ok(&name, r).volume.expect("a volume");
        assert_eq!(v.volume_context["glustervolume"], name);
        volumes.push(v);
    }
    volumes
}

/// Distinct gids of every volume on the server (as heketi stores them).
async fn assert_distinct_gids(h: &Heqet) -> HashSet<i64> {
    let mut gids = HashSet::new();
    for id in h.volumes().await {
        let info = h.volume(&id).await;
        assert!(info.gid >= 2000, "{}: gid {}", info.name, info.gid);
        assert!(
            gids.insert(info.gid),
            "gid {} given twice (again to {})",
            info.gid,
            info.name
        );
    }
    gids
}

// Multi-threaded like the real plugin's runtime: the races of gid picking need tasks that
// run in parallel.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_creates() {
    let (h, csi) = setup(3).await;
    let volumes = burst(&csi, "pvc", 100).await;
    let ids: HashSet<String> = volumes.iter().map(|v| v.volume_id.clone()).collect();
    assert_eq!(ids.len(), 100, "distinct volume ids");
    let listed: HashSet<String> = h.volumes().await.into_iter().collect();
    assert_eq!(listed.len(), 100);
    assert_eq!(listed, ids);
    let gids = assert_distinct_gids(&h).await;
    let context_gids: HashSet<i64> = volumes.iter().map(|v| gid_of(v).expect("gid")).collect();
    assert_eq!(gids, context_gids, "the contexts carry heketi's gids");
}

/// Creates finishing while others pick their gid, over and over: the gid of a volume that
/// just finished must never be handed out again (it once was, by two races: the gid left the
/// reserved set before the volume entered the index, and an index refresh dropped volumes
/// created while its list was on its way).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gids_stay_distinct_while_creates_finish() {
    let (h, csi) = setup(3).await;
    for (round, delay_ms) in [0, 3, 0, 7, 0, 1].into_iter().enumerate() {
        h.mock.set_delay(Duration::from_millis(delay_ms));
        burst(&csi, &format!("pvc-r{round}"), 40).await;
    }
    assert_eq!(assert_distinct_gids(&h).await.len(), 240);
}

// ----------------------------------------------------------------------------- DeleteVolume

#[tokio::test]
async fn delete_volume() {
    let (h, mut csi) = setup(3).await;
    let v = create(&mut csi.client, create_req("pvc-del", 0, &[])).await;
    ok(
        "DeleteVolume",
        csi.client.delete_volume(delete_req(&v.volume_id)).await,
    );
    assert!(h.volumes().await.is_empty());
    let e = h.rest.volume_info(&v.volume_id).await.expect_err("gone");
    assert_eq!(e.status(), Some(404));
    // Again, and any well-formed id of nothing: already gone is success.
    ok(
        "DeleteVolume again",
        csi.client.delete_volume(delete_req(&v.volume_id)).await,
    );
    ok(
        "DeleteVolume unknown",
        csi.client
            .delete_volume(delete_req("0123456789abcdef0123456789abcdef"))
            .await,
    );
    // The name can be used again.
    let w = create(&mut csi.client, create_req("pvc-del", 0, &[])).await;
    assert_ne!(w.volume_id, v.volume_id);
}

#[tokio::test]
async fn delete_refuses_what_heqet_csi_did_not_make() {
    let (h, mut csi) = setup(3).await;
    for bad in [
        "vol_0123456789abcdef0123456789abcdef",
        "0123456789ABCDEF0123456789ABCDEF",
        "pvc-1",
    ] {
        fails(
            bad,
            csi.client.delete_volume(delete_req(bad)).await,
            Code::NotFound,
            &["not made by heqet-csi", bad],
        );
    }
    fails(
        "empty id",
        csi.client.delete_volume(delete_req("")).await,
        Code::InvalidArgument,
        &["volume_id"],
    );
    let id = foreign_volume(&h, "not-ours").await;
    fails(
        "foreign volume",
        csi.client.delete_volume(delete_req(&id)).await,
        Code::NotFound,
        &["not made by heqet-csi", &id],
    );
    assert_eq!(h.volumes().await, vec![id.clone()], "not deleted");
    assert_eq!(h.volume(&id).await.name, "not-ours");
}

// ------------------------------------------------------------------ ControllerExpandVolume

#[tokio::test]
async fn expand_volume() {
    let (h, mut csi) = setup(3).await;
    let v = create(&mut csi.client, create_req("pvc-exp", GIB, &[])).await;
    let r = ok(
        "expand to 3 GiB",
        csi.client
            .controller_expand_volume(expand_req(&v.volume_id, 2 * GIB + 1))
            .await,
    );
    assert_eq!(r.capacity_bytes, 3 * GIB);
    assert!(!r.node_expansion_required);
    assert_eq!(h.volume(&v.volume_id).await.size, 3);

    for smaller in [2 * GIB, 3 * GIB] {
        let r = ok(
            "no-op expand",
            csi.client
                .controller_expand_volume(expand_req(&v.volume_id, smaller))
                .await,
        );
        assert_eq!(r.capacity_bytes, 3 * GIB);
        assert!(!r.node_expansion_required);
    }
    assert_eq!(h.volume(&v.volume_id).await.size, 3);

    // No space: 500 GiB devices cannot take 2 TiB more per replica.
    let s = fails(
        "too big",
        csi.client
            .controller_expand_volume(expand_req(&v.volume_id, 2048 * GIB))
            .await,
        Code::ResourceExhausted,
        &["expanding volume", &v.volume_id, "2048 GiB"],
    );
    assert!(
        s.message().contains("No space") || s.message().contains("Out of space"),
        "heketi's text: {}",
        s.message()
    );
    assert_eq!(h.volume(&v.volume_id).await.size, 3);

    let id = foreign_volume(&h, "not-ours").await;
    fails(
        "foreign",
        csi.client
            .controller_expand_volume(expand_req(&id, 5 * GIB))
            .await,
        Code::NotFound,
        &["not made by heqet-csi", &id],
    );
    assert_eq!(h.volume(&id).await.size, 1);
    fails(
        "unknown",
        csi.client
            .controller_expand_volume(expand_req("0123456789abcdef0123456789abcdef", 5 * GIB))
            .await,
        Code::NotFound,
        &["0123456789abcdef0123456789abcdef", "does not exist"],
    );
    fails(
        "malformed",
        csi.client
            .controller_expand_volume(expand_req("nfs-1", 5 * GIB))
            .await,
        Code::NotFound,
        &["not made by heqet-csi"],
    );
}

// -------------------------------------------------------------- ValidateVolumeCapabilities

#[tokio::test]
async fn validate_volume_capabilities() {
    let (_h, mut csi) = setup(3).await;
    let v = create(&mut csi.client, create_req("pvc-val", 0, &[])).await;
    let req = |caps: Vec<csi::VolumeCapability>| csi::ValidateVolumeCapabilitiesRequest {
        volume_id: v.volume_id.clone(),
        volume_context: v.volume_context.clone(),
        volume_capabilities: caps,
        ..Default::default()
    };
    let modes = [
        Mode::SingleNodeWriter,
        Mode::SingleNodeReaderOnly,
        Mode::MultiNodeReaderOnly,
        Mode::MultiNodeSingleWriter,
        Mode::MultiNodeMultiWriter,
        Mode::SingleNodeSingleWriter,
        Mode::SingleNodeMultiWriter,
    ];
    for mode in modes {
        let r = ok(
            &format!("{mode:?}"),
            csi.client
                .validate_volume_capabilities(req(vec![mount(mode)]))
                .await,
        );
        let confirmed = r
            .confirmed
            .unwrap_or_else(|| panic!("{mode:?} not confirmed: {}", r.message));
        assert_eq!(confirmed.volume_capabilities, vec![mount(mode)]);
        assert_eq!(confirmed.volume_context, v.volume_context);
    }
    // All at once.
    let all: Vec<_> = modes.iter().map(|m| mount(*m)).collect();
    let r = ok(
        "all modes",
        csi.client.validate_volume_capabilities(req(all)).await,
    );
    assert!(r.confirmed.is_some());

    let r = ok(
        "block",
        csi.client
            .validate_volume_capabilities(req(vec![rwx(), block(Mode::SingleNodeWriter)]))
            .await,
    );
    assert!(r.confirmed.is_none());
    assert!(r.message.contains("raw block"), "{}", r.message);

    fails(
        "unknown volume",
        csi.client
            .validate_volume_capabilities(csi::ValidateVolumeCapabilitiesRequest {
                volume_id: "0123456789abcdef0123456789abcdef".into(),
                ..req(vec![rwx()])
            })
            .await,
        Code::NotFound,
        &["0123456789abcdef0123456789abcdef", "does not exist"],
    );
    fails(
        "no capabilities",
        csi.client.validate_volume_capabilities(req(vec![])).await,
        Code::InvalidArgument,
        &["volume_capabilities"],
    );
}

// ----------------------------------------------------------------------------- ListVolumes

#[tokio::test]
async fn list_volumes_pages_through_heqet_csis_volumes() {
    let (h, mut csi) = setup(3).await;
    let mut ours = BTreeSet::new();
    for i in 0..5 {
        let v = create(
            &mut csi.client,
            create_req(&format!("pvc-l{i}"), (i + 1) * GIB, &[]),
        )
        .await;
        ours.insert(v.volume_id);
    }
    let foreign = foreign_volume(&h, "not-ours").await;

    let all = ok(
        "ListVolumes",
        csi.client.list_volumes(list_req(0, "")).await,
    );
    assert!(all.next_token.is_empty());
    let listed: BTreeSet<String> = all
        .entries
        .iter()
        .map(|e| e.volume.as_ref().expect("volume").volume_id.clone())
        .collect();
    assert_eq!(listed, ours, "only heqet-csi's volumes");
    assert!(!listed.contains(&foreign));
    for e in &all.entries {
        let v = e.volume.as_ref().expect("volume");
        let size = h.volume(&v.volume_id).await.size;
        assert_eq!(v.capacity_bytes, size * GIB);
    }

    for page in [1, 2, 3, 5, 7] {
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let r = ok(
                "ListVolumes page",
                csi.client.list_volumes(list_req(page, &token)).await,
            );
            assert!(r.entries.len() <= page as usize);
            seen.extend(
                r.entries
                    .iter()
                    .map(|e| e.volume.as_ref().expect("volume").volume_id.clone()),
            );
            pages += 1;
            if r.next_token.is_empty() {
                break;
            }
            assert!(pages <= 10, "next_token never ends");
            token = r.next_token;
        }
        assert_eq!(pages, 5usize.div_ceil(page as usize), "page size {page}");
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(seen.len(), unique.len(), "each volume once");
        assert_eq!(unique, ours);
    }

    for bad in ["zzz", "0123456789ABCDEF0123456789ABCDEF", "not-a-token"] {
        fails(
            bad,
            csi.client.list_volumes(list_req(2, bad)).await,
            Code::Aborted,
            &["starting_token", bad],
        );
    }
    fails(
        "negative max_entries",
        csi.client.list_volumes(list_req(-1, "")).await,
        Code::OutOfRange,
        &["max_entries"],
    );
}

// ----------------------------------------------------------------------------- GetCapacity

#[tokio::test]
async fn get_capacity_is_what_a_create_can_get() {
    // 3 nodes x 2 devices x 100 GiB: a replica-3 volume gets at most two brick sets of a bit
    // less than one device each.
    let (h, mut csi) = setup_with(
        HeqetOptions {
            device_gib: 100,
            ..Default::default()
        },
        3,
        2,
    )
    .await;
    let cap = |params: &[(&str, &str)]| csi::GetCapacityRequest {
        volume_capabilities: vec![rwx()],
        parameters: map(params),
        accessible_topology: None,
    };
    let r = ok(
        "GetCapacity",
        csi.client
            .get_capacity(cap(&[("volumetype", "replicate:3")]))
            .await,
    );
    let bytes = r.available_capacity;
    assert!(bytes > 0 && bytes % GIB == 0, "{bytes}");
    let gib = bytes / GIB;
    // Two sets of bricks just under 100 GiB: never more than the 200 GiB a node has.
    assert!((190..200).contains(&gib), "{gib} GiB");

    // Slack: none below, 2 GiB above. The topology is symmetric, so heketi's random device
    // ring cannot place worse than the model assumes, and the answer is rounded down to
    // whole GiB: a create of exactly the answer must fit. Anything 2 GiB (1 %) or more
    // above is beyond the space (+1 GiB is the rounding step itself).
    let n = h.volumes().await.len();
    fails(
        "clearly larger",
        csi.client
            .create_volume(create_req("pvc-over", bytes + 2 * GIB, &[]))
            .await,
        Code::ResourceExhausted,
        &["creating volume pvc-over", "No space"],
    );
    fails(
        "10 % larger",
        csi.client
            .create_volume(create_req("pvc-over2", bytes + bytes / 10, &[]))
            .await,
        Code::ResourceExhausted,
        &["No space"],
    );
    assert_eq!(h.volumes().await.len(), n);
    let v = create(&mut csi.client, create_req("pvc-max", bytes, &[])).await;
    assert_eq!(v.capacity_bytes, bytes);

    // What is left is (next to) nothing, and GetCapacity says so.
    let r = ok("GetCapacity after", csi.client.get_capacity(cap(&[])).await);
    assert!(r.available_capacity < 2 * GIB, "{}", r.available_capacity);

    // Other types and bad parameters.
    fails(
        "bad volumetype",
        csi.client
            .get_capacity(cap(&[("volumetype", "mirror")]))
            .await,
        Code::InvalidArgument,
        &["volumetype", "mirror"],
    );
    fails(
        "GetCapacity block",
        csi.client
            .get_capacity(csi::GetCapacityRequest {
                volume_capabilities: vec![block(Mode::SingleNodeWriter)],
                ..cap(&[])
            })
            .await,
        Code::InvalidArgument,
        &["raw block"],
    );
}

#[tokio::test]
async fn get_capacity_for_none_and_disperse_fits_too() {
    for (vt, name, min_gib) in [("disperse:2:1", "pvc-ec", 190), ("none", "pvc-none", 280)] {
        // A fresh server each: the create below takes (nearly) all the space.
        let (_h, mut csi) = setup_with(
            HeqetOptions {
                device_gib: 100,
                ..Default::default()
            },
            3,
            1,
        )
        .await;
        let params = [("volumetype", vt)];
        let bytes = ok(
            vt,
            csi.client
                .get_capacity(csi::GetCapacityRequest {
                    volume_capabilities: vec![rwx()],
                    parameters: map(&params),
                    accessible_topology: None,
                })
                .await,
        )
        .available_capacity;
        // disperse 2+1 stores two nodes' worth, none three, less pool metadata.
        let gib = bytes / GIB;
        assert!((min_gib..min_gib + 20).contains(&gib), "{vt}: {gib} GiB");
        fails(
            vt,
            csi.client
                .create_volume(create_req(
                    &format!("{name}-over"),
                    bytes + 2 * GIB,
                    &params,
                ))
                .await,
            Code::ResourceExhausted,
            &["No space"],
        );
        let v = create(&mut csi.client, create_req(name, bytes, &params)).await;
        assert_eq!(v.capacity_bytes, bytes);
    }
}

// ----------------------------------------------------------------------------------- Clone

fn clone_req(name: &str, source: &str, required: i64) -> csi::CreateVolumeRequest {
    csi::CreateVolumeRequest {
        volume_content_source: Some(csi::VolumeContentSource {
            r#type: Some(csi::volume_content_source::Type::Volume(
                csi::volume_content_source::VolumeSource {
                    volume_id: source.to_string(),
                },
            )),
        }),
        ..create_req(name, required, &[])
    }
}

#[tokio::test]
async fn clone_from_a_volume() {
    let (h, mut csi) = setup(3).await;
    let src = create(&mut csi.client, create_req("pvc-src", 2 * GIB, &[])).await;
    let src_info = h.volume(&src.volume_id).await;

    let c = create(&mut csi.client, clone_req("pvc-clone", &src.volume_id, 0)).await;
    assert_ne!(c.volume_id, src.volume_id);
    assert!(is_heketi_id(&c.volume_id));
    assert_eq!(c.capacity_bytes, 2 * GIB, "the source's size");
    let info = h.volume(&c.volume_id).await;
    assert_eq!(info.name, "pvc-clone");
    assert_eq!(info.size, 2);
    assert!(marker(&info).is_some(), "the clone is marked");
    assert_eq!(info.gid, src_info.gid, "a clone keeps its source's gid");
    assert_eq!(c.volume_context["glustervolume"], "pvc-clone");
    assert_eq!(h.volumes().await.len(), 2);
    // Idempotent like any create.
    let again = create(&mut csi.client, clone_req("pvc-clone", &src.volume_id, 0)).await;
    assert_eq!(again.volume_id, c.volume_id);
    // A clone is ours: it can be deleted.
    ok(
        "DeleteVolume clone",
        csi.client.delete_volume(delete_req(&c.volume_id)).await,
    );

    // Larger than the source: cloned, then expanded.
    let big = create(
        &mut csi.client,
        clone_req("pvc-bigclone", &src.volume_id, 5 * GIB),
    )
    .await;
    assert_eq!(big.capacity_bytes, 5 * GIB);
    assert_eq!(h.volume(&big.volume_id).await.size, 5);
    assert_eq!(
        h.volume(&src.volume_id).await.size,
        2,
        "the source is unchanged"
    );

    fails(
        "smaller than the source",
        csi.client
            .create_volume(clone_req("pvc-small", &src.volume_id, GIB))
            .await,
        Code::OutOfRange,
        &["at least its size", "2 GiB"],
    );
    let snap = csi::CreateVolumeRequest {
        volume_content_source: Some(csi::VolumeContentSource {
            r#type: Some(csi::volume_content_source::Type::Snapshot(
                csi::volume_content_source::SnapshotSource {
                    snapshot_id: "snap-1".into(),
                },
            )),
        }),
        ..create_req("pvc-fromsnap", 0, &[])
    };
    fails(
        "snapshot source",
        csi.client.create_volume(snap).await,
        Code::InvalidArgument,
        &["snapshots are not supported"],
    );
    fails(
        "unknown source",
        csi.client
            .create_volume(clone_req(
                "pvc-nosrc",
                "0123456789abcdef0123456789abcdef",
                0,
            ))
            .await,
        Code::NotFound,
        &["source volume", "0123456789abcdef0123456789abcdef"],
    );
    let foreign = foreign_volume(&h, "not-ours").await;
    fails(
        "foreign source",
        csi.client
            .create_volume(clone_req("pvc-fsrc", &foreign, 0))
            .await,
        Code::NotFound,
        &["not made by heqet-csi", &foreign],
    );
    fails(
        "malformed source",
        csi.client
            .create_volume(clone_req("pvc-msrc", "vol_1", 0))
            .await,
        Code::NotFound,
        &["not made by heqet-csi", "vol_1"],
    );
    // src, bigclone, not-ours.
    assert_eq!(h.volumes().await.len(), 3);
}

// ---------------------------------------------------------------------------------- Errors

#[tokio::test]
async fn rest_server_down_is_unavailable_naming_the_url() {
    let dead = dead_url();
    let mut csi = Csi::start(Some(&dead), None).await;
    fails(
        "default server down",
        csi.client.create_volume(create_req("pvc-1", 0, &[])).await,
        Code::Unavailable,
        &[&dead],
    );
    fails(
        "list",
        csi.client.list_volumes(list_req(0, "")).await,
        Code::Unavailable,
        &[&dead],
    );
    fails(
        "delete",
        csi.client
            .delete_volume(delete_req("0123456789abcdef0123456789abcdef"))
            .await,
        Code::Unavailable,
        &[&dead],
    );

    // A class naming a dead server, next to a live default.
    let (_h, mut live) = setup(3).await;
    fails(
        "class server down",
        live.client
            .create_volume(create_req("pvc-2", 0, &[("resturl", &dead)]))
            .await,
        Code::Unavailable,
        &[&dead],
    );
    fails(
        "capacity on a dead server",
        live.client
            .get_capacity(csi::GetCapacityRequest {
                parameters: map(&[("resturl", &dead)]),
                ..Default::default()
            })
            .await,
        Code::Unavailable,
        &[&dead],
    );
}

#[tokio::test]
async fn no_space_is_resource_exhausted_with_heketis_text() {
    let (h, mut csi) = setup(3).await;
    fails(
        "too big",
        csi.client
            .create_volume(create_req("pvc-huge", 4000 * GIB, &[]))
            .await,
        Code::ResourceExhausted,
        &[
            "creating volume pvc-huge",
            &h.url,
            "Failed to allocate new volume: No space",
        ],
    );
    assert!(h.volumes().await.is_empty());
    // The name is not blocked by the failure.
    create(&mut csi.client, create_req("pvc-huge", GIB, &[])).await;
}

#[tokio::test]
async fn bad_parameters_are_invalid_argument_naming_the_parameter() {
    let (h, mut csi) = setup(3).await;
    for (params, needles) in [
        (
            vec![("foo", "bar")],
            vec!["unknown StorageClass parameter", "foo"],
        ),
        (
            vec![("volumetype", "replicate:7")],
            vec!["volumetype", "replicate:7"],
        ),
        (vec![("volumetype", "mirror")], vec!["volumetype", "mirror"]),
        (vec![("volumetype", "disperse:4:3")], vec!["volumetype"]),
        (
            vec![("gidMin", "6000"), ("gidMax", "5000")],
            vec!["gidMin", "gidMax"],
        ),
        (vec![("gidMin", "abc")], vec!["gidMin", "abc"]),
        (vec![("gidMax", "99")], vec!["gidMax", "99"]),
        (
            vec![("resturl", "ftp://heketi:8080")],
            vec!["resturl", "ftp://heketi:8080"],
        ),
        (
            vec![("resturl", "heketi:8080")],
            vec!["resturl", "no scheme"],
        ),
        (vec![("snapfactor", "NaN")], vec!["snapfactor"]),
        (vec![("clusterid", "abc")], vec!["clusterid", "abc"]),
        (vec![("restauthenabled", "yes")], vec!["restauthenabled"]),
        (
            vec![("volumeoptions", "nokey")],
            vec!["volumeoptions", "nokey"],
        ),
        (
            vec![("secretName", "heketi")],
            vec!["secretName", "secretNamespace"],
        ),
    ] {
        fails(
            &format!("{params:?}"),
            csi.client
                .create_volume(create_req("pvc-bad", 0, &params))
                .await,
            Code::InvalidArgument,
            &needles,
        );
    }
    assert!(h.volumes().await.is_empty());
}

#[tokio::test]
async fn missing_fields_and_block_are_invalid_argument() {
    let (h, mut csi) = setup(3).await;
    fails(
        "no name",
        csi.client.create_volume(create_req("", 0, &[])).await,
        Code::InvalidArgument,
        &["name is required"],
    );
    fails(
        "bad name",
        csi.client.create_volume(create_req("a b;c", 0, &[])).await,
        Code::InvalidArgument,
        &["a b;c"],
    );
    let no_caps = csi::CreateVolumeRequest {
        volume_capabilities: vec![],
        ..create_req("pvc-nocaps", 0, &[])
    };
    fails(
        "no capabilities",
        csi.client.create_volume(no_caps).await,
        Code::InvalidArgument,
        &["volume_capabilities is required"],
    );
    let blk = csi::CreateVolumeRequest {
        volume_capabilities: vec![rwx(), block(Mode::SingleNodeWriter)],
        ..create_req("pvc-block", 0, &[])
    };
    fails(
        "block",
        csi.client.create_volume(blk).await,
        Code::InvalidArgument,
        &["raw block access is not supported"],
    );
    let xfs = csi::CreateVolumeRequest {
        volume_capabilities: vec![csi::VolumeCapability {
            access_type: Some(csi::volume_capability::AccessType::Mount(
                csi::volume_capability::MountVolume {
                    fs_type: "xfs".into(),
                    ..Default::default()
                },
            )),
            ..rwx()
        }],
        ..create_req("pvc-xfs", 0, &[])
    };
    fails(
        "xfs",
        csi.client.create_volume(xfs).await,
        Code::InvalidArgument,
        &["fs_type", "xfs"],
    );
    let no_mode = csi::CreateVolumeRequest {
        volume_capabilities: vec![csi::VolumeCapability {
            access_mode: None,
            ..rwx()
        }],
        ..create_req("pvc-nomode", 0, &[])
    };
    fails(
        "no access mode",
        csi.client.create_volume(no_mode).await,
        Code::InvalidArgument,
        &["access_mode"],
    );
    assert!(h.volumes().await.is_empty());
}

#[tokio::test]
async fn auth_wrong_key_is_unauthenticated_and_the_right_key_works() {
    let (h, mut csi) = setup_with(
        HeqetOptions {
            auth: true,
            ..Default::default()
        },
        3,
        1,
    )
    .await;
    let with = |secrets: &[(&str, &str)]| csi::CreateVolumeRequest {
        secrets: map(secrets),
        ..create_req("pvc-auth", 0, &[])
    };
    fails(
        "no key",
        csi.client.create_volume(with(&[])).await,
        Code::Unauthenticated,
        &[&h.url],
    );
    fails(
        "wrong key",
        csi.client
            .create_volume(with(&[("key", "not-the-key")]))
            .await,
        Code::Unauthenticated,
        &[&h.url],
    );
    let v = create(&mut csi.client, with(&[("key", ADMIN_KEY)])).await;
    assert_eq!(h.volumes().await, vec![v.volume_id.clone()]);
    // The user may be given too; the key as the in-tree Secret's only entry works as well.
    let v2 = create(
        &mut csi.client,
        csi::CreateVolumeRequest {
            secrets: map(&[("user", "admin"), ("adminkey", ADMIN_KEY)]),
            ..create_req("pvc-auth2", 0, &[])
        },
    )
    .await;

    // DeleteVolume and expand carry only the secrets.
    let mut exp = expand_req(&v.volume_id, 2 * GIB);
    fails(
        "expand without key",
        csi.client.controller_expand_volume(exp.clone()).await,
        Code::Unauthenticated,
        &[],
    );
    exp.secrets = map(&[("key", ADMIN_KEY)]);
    ok(
        "expand with key",
        csi.client.controller_expand_volume(exp).await,
    );
    assert_eq!(h.volume(&v.volume_id).await.size, 2);
    fails(
        "delete wrong key",
        csi.client
            .delete_volume(csi::DeleteVolumeRequest {
                volume_id: v.volume_id.clone(),
                secrets: map(&[("key", "nope")]),
            })
            .await,
        Code::Unauthenticated,
        &[],
    );
    for id in [&v.volume_id, &v2.volume_id] {
        ok(
            "delete with key",
            csi.client
                .delete_volume(csi::DeleteVolumeRequest {
                    volume_id: id.clone(),
                    secrets: map(&[("key", ADMIN_KEY)]),
                })
                .await,
        );
    }
    assert!(h.volumes().await.is_empty());

    // The controller's own key (--restkey) serves calls without secrets.
    let mut keyed = Csi::start(Some(&h.url), Some(ADMIN_KEY)).await;
    let v = create(&mut keyed.client, create_req("pvc-own-key", 0, &[])).await;
    ok(
        "delete with the default key",
        keyed.client.delete_volume(delete_req(&v.volume_id)).await,
    );
}

#[tokio::test]
async fn a_class_resturl_puts_the_volume_on_another_server() {
    let (home, mut csi) = setup(3).await;
    let other = Heqet::start(HeqetOptions::default()).await;
    other.cluster(3, 1).await;

    let v = create(
        &mut csi.client,
        create_req("pvc-away", GIB, &[("resturl", &format!("{}/", other.url))]),
    )
    .await;
    let (id, server) = v.volume_id.split_once('@').expect("<id>@<url>");
    assert!(is_heketi_id(id));
    assert_eq!(server, other.url, "the normalized URL");
    assert!(home.volumes().await.is_empty());
    assert_eq!(other.volumes().await, vec![id.to_string()]);
    assert_eq!(marker(&other.volume(id).await).as_deref(), Some("pvc-away"));

    // Idempotent there too.
    let again = create(
        &mut csi.client,
        create_req("pvc-away", GIB, &[("resturl", &other.url)]),
    )
    .await;
    assert_eq!(again.volume_id, v.volume_id);
    // The same name on the default server is another volume.
    let here = create(&mut csi.client, create_req("pvc-away", GIB, &[])).await;
    assert!(is_heketi_id(&here.volume_id));
    assert_eq!(home.volumes().await, vec![here.volume_id.clone()]);

    // Only the id says where: no parameters in these calls.
    let r = ok(
        "expand away",
        csi.client
            .controller_expand_volume(expand_req(&v.volume_id, 4 * GIB))
            .await,
    );
    assert_eq!(r.capacity_bytes, 4 * GIB);
    assert_eq!(other.volume(id).await.size, 4);
    let val = ok(
        "validate away",
        csi.client
            .validate_volume_capabilities(csi::ValidateVolumeCapabilitiesRequest {
                volume_id: v.volume_id.clone(),
                volume_capabilities: vec![rwx()],
                ..Default::default()
            })
            .await,
    );
    assert!(val.confirmed.is_some());
    ok(
        "delete away",
        csi.client.delete_volume(delete_req(&v.volume_id)).await,
    );
    assert!(other.volumes().await.is_empty());
    assert_eq!(home.volumes().await, vec![here.volume_id], "untouched");
}

#[tokio::test]
async fn controller_capabilities() {
    let (_h, mut csi) = setup(3).await;
    use csi::controller_service_capability::rpc::Type;
    let r = ok(
        "ControllerGetCapabilities",
        csi.client
            .controller_get_capabilities(csi::ControllerGetCapabilitiesRequest {})
            .await,
    );
    let got: BTreeSet<i32> = r
        .capabilities
        .iter()
        .map(|c| match &c.r#type {
            Some(csi::controller_service_capability::Type::Rpc(rpc)) => rpc.r#type,
            None => panic!("a capability without a type"),
        })
        .collect();
    let want: BTreeSet<i32> = [
        Type::CreateDeleteVolume,
        Type::ExpandVolume,
        Type::CloneVolume,
        Type::ListVolumes,
        Type::GetCapacity,
    ]
    .into_iter()
    .map(|t| t as i32)
    .collect();
    assert_eq!(got, want);
    assert_eq!(r.capabilities.len(), 5);

    // What is not offered answers UNIMPLEMENTED.
    fails(
        "publish",
        csi.client
            .controller_publish_volume(csi::ControllerPublishVolumeRequest::default())
            .await,
        Code::Unimplemented,
        &["attachRequired"],
    );
    fails(
        "snapshot",
        csi.client
            .create_snapshot(csi::CreateSnapshotRequest::default())
            .await,
        Code::Unimplemented,
        &["snapshots"],
    );
}
