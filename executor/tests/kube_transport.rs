//! The kube transport against a real HTTP/WebSocket server (`kube_fake`): kube's own client
//! does the pod lookups and the exec upgrade; the fake runs each argv for real on this machine.

mod kube_fake;

use std::time::{Duration, Instant};

use heqet_executor::kube::{kube_executor, KubeConfig, KubeExecConfig, KubeTransport};
use heqet_executor::transport::{Cmd, Transport};
use heqet_executor::ExecError;
use kube_fake::{pod, FakeApi, Runner};

const NS: &str = "glusterfs";

fn transport(api: &FakeApi, tweak: impl FnOnce(&mut KubeConfig)) -> KubeTransport {
    let mut cfg = KubeConfig {
        kubeconfig: api.kubeconfig.clone(),
        ..Default::default()
    };
    tweak(&mut cfg);
    KubeTransport::new(cfg).expect("transport")
}

fn cmd(argv: &[&str]) -> Cmd {
    Cmd::new(argv.iter().copied(), Duration::from_secs(30))
}

async fn three_nodes() -> FakeApi {
    FakeApi::start(
        vec![
            pod(NS, "glusterfs-aaaaa", "node1", "Running", &["glusterfs"]),
            pod(NS, "glusterfs-bbbbb", "node2", "Running", &["glusterfs"]),
            pod(NS, "glusterfs-ccccc", "node3", "Running", &["glusterfs"]),
            // Same label in another namespace: must not be seen.
            pod(
                "other",
                "glusterfs-zzzzz",
                "node1",
                "Running",
                &["glusterfs"],
            ),
        ],
        Runner::Local,
    )
    .await
}

#[tokio::test]
async fn exit_status_stdout_stderr_and_the_timeout_prefix() {
    let api = three_nodes().await;
    let t = transport(&api, |_| {});
    assert_eq!(t.namespace(), NS, "from the kubeconfig context");
    let out = t
        .run(
            "node2",
            &cmd(&["sh", "-c", "echo out; echo err >&2; echo more; exit 3"]),
        )
        .await
        .expect("run");
    assert_eq!(out.status, 3);
    assert_eq!(out.stdout, "out\nmore\n");
    assert_eq!(out.stderr, "err\n");
    let ok = t.run("node2", &cmd(&["true"])).await.expect("true");
    assert_eq!((ok.status, ok.stdout.as_str()), (0, ""));

    let execs = api.execs();
    assert_eq!(execs.len(), 2);
    assert_eq!(execs[0].pod, "glusterfs-bbbbb");
    assert_eq!(execs[0].namespace, NS);
    assert_eq!(execs[0].container, "glusterfs");
    assert_eq!(
        execs[0].argv,
        [
            "timeout",
            "1m",
            "sh",
            "-c",
            "echo out; echo err >&2; echo more; exit 3"
        ]
    );
    assert_eq!(execs[0].protocol, "v5.channel.k8s.io");
    // The second command reused the cached lookup: one list request only.
    let lists = api.with(|s| {
        s.requests
            .iter()
            .filter(|r| r.contains("/pods?"))
            .cloned()
            .collect::<Vec<_>>()
    });
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert!(
        lists[0].contains("labelSelector=glusterfs-node%3Dnode2"),
        "{lists:?}"
    );
}

#[tokio::test]
async fn hostile_argv_arrives_literally() {
    let api = three_nodes().await;
    let t = transport(&api, |_| {});
    let hostile = [
        "v; rm -rf /",
        "$(touch /tmp/heqet-pwned)",
        "`id`",
        "it's \"quoted\"",
        "new\nline",
        "",
        "*",
        "a\\b",
        "~root",
        "x&&y|z>w<v",
        "tab\there",
        "ünïcödé",
        "--help",
    ];
    let mut argv = vec!["printf", "%s\\0"];
    argv.extend(hostile);
    let out = t.run("node1", &cmd(&argv)).await.expect("run");
    assert_eq!(out.status, 0, "{}", out.stderr);
    let back: Vec<&str> = out.stdout.split_terminator('\0').collect();
    assert_eq!(back, hostile);
    assert_eq!(api.execs()[0].argv[2..], argv);
    assert!(!std::path::Path::new("/tmp/heqet-pwned").exists());
}

#[tokio::test]
async fn exit_124_under_the_prefix_is_a_timeout() {
    let api = three_nodes().await;
    let t = transport(&api, |_| {});
    let c = Cmd::new(["sh", "-c", "exit 124"], Duration::from_secs(90));
    match t.run("node1", &c).await {
        Err(ExecError::Timeout {
            host,
            command,
            seconds,
        }) => {
            assert_eq!(host, "node1");
            assert_eq!(command, "sh -c 'exit 124'");
            assert_eq!(seconds, 120);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(api.execs()[0].argv[..2], ["timeout", "2m"]);

    // Without the prefix, 124 is just the command's status.
    let t = transport(&api, |c| c.disable_timeout_prefix = true);
    let out = t.run("node1", &c).await.expect("run");
    assert_eq!(out.status, 124);
    assert_eq!(api.execs()[1].argv, ["sh", "-c", "exit 124"]);
}

#[tokio::test]
async fn the_client_side_deadline_holds() {
    let api = three_nodes().await;
    let t = transport(&api, |c| c.disable_timeout_prefix = true);
    let started = Instant::now();
    let c = Cmd::new(["sleep", "10"], Duration::from_secs(1));
    match t.run("node3", &c).await {
        Err(ExecError::Timeout { seconds, .. }) => assert_eq!(seconds, 1),
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn lookup_by_daemonset_node_name_and_by_pod_name() {
    let api = FakeApi::start(
        vec![
            // The label value is not the node here: daemonset mode must use spec.nodeName.
            pod(NS, "gfs-1", "node1", "Running", &["glusterfs", "exporter"]),
            pod(NS, "gfs-2", "node2", "Running", &["glusterfs", "exporter"]),
        ],
        Runner::Local,
    )
    .await;
    api.with(|s| {
        for p in &mut s.pods {
            p["metadata"]["labels"]["glusterfs-node"] = "pod".into();
        }
    });
    let t = transport(&api, |c| c.gluster_daemonset = true);
    let out = t.run("node2", &cmd(&["echo", "hi"])).await.expect("run");
    assert_eq!(out.stdout, "hi\n");
    let e = &api.execs()[0];
    assert_eq!(
        (e.pod.as_str(), e.container.as_str()),
        ("gfs-2", "glusterfs")
    );
    let req = api.with(|s| s.requests[0].clone());
    assert!(
        req.contains("fieldSelector=spec.nodeName%3Dnode2")
            && req.contains("labelSelector=glusterfs-node"),
        "{req}"
    );

    // A configured selector and container.
    let t = transport(&api, |c| {
        c.gluster_daemonset = true;
        c.selector = "glusterfs=pod".into();
        c.container = "exporter".into();
    });
    t.run("node1", &cmd(&["true"])).await.expect("run");
    let e = api.execs().pop().unwrap();
    assert_eq!(
        (e.pod.as_str(), e.container.as_str()),
        ("gfs-1", "exporter")
    );

    // Pod names.
    let t = transport(&api, |c| c.use_pod_names = true);
    t.run("gfs-1", &cmd(&["true"])).await.expect("run");
    assert_eq!(api.execs().pop().unwrap().pod, "gfs-1");
    let err = t.run("gfs-9", &cmd(&["true"])).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "gfs-9: cannot reach node: no glusterfs pod for node gfs-9 in namespace \"glusterfs\" (name `gfs-9`)"
    );
}

#[tokio::test]
async fn no_pod_several_pods_not_running() {
    let api = FakeApi::start(
        vec![
            pod(NS, "gfs-a", "node1", "Running", &["glusterfs"]),
            pod(NS, "gfs-b", "node1", "Running", &["glusterfs"]),
            pod(NS, "gfs-c", "node2", "Pending", &["glusterfs"]),
        ],
        Runner::Local,
    )
    .await;
    let t = transport(&api, |_| {});
    let err = t.run("node9", &cmd(&["true"])).await.unwrap_err();
    assert!(matches!(err, ExecError::Unreachable { .. }));
    assert_eq!(
        err.to_string(),
        "node9: cannot reach node: no glusterfs pod for node node9 in namespace \"glusterfs\" (label selector `glusterfs-node=node9`)"
    );
    let err = t.run("node1", &cmd(&["true"])).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("several glusterfs pods for node node1"),
        "{err}"
    );
    assert!(err.to_string().contains("gfs-a, gfs-b"), "{err}");
    let err = t.run("node2", &cmd(&["true"])).await.unwrap_err();
    assert!(
        err.to_string().contains(
            "glusterfs pod glusterfs/gfs-c for node node2 is not running (phase Pending)"
        ),
        "{err}"
    );
    let err = t.run("a,b", &cmd(&["true"])).await.unwrap_err();
    assert!(err.to_string().contains("label value"), "{err}");
    assert!(api.execs().is_empty());
    // An explicit namespace wins over the kubeconfig's.
    let t = transport(&api, |c| c.namespace = "elsewhere".into());
    let err = t.run("node1", &cmd(&["true"])).await.unwrap_err();
    assert!(err.to_string().contains("namespace \"elsewhere\""), "{err}");
}

#[tokio::test]
async fn rbac_and_credential_errors_say_what_is_missing() {
    let api = three_nodes().await;
    let t = transport(&api, |_| {});
    api.with(|s| {
        s.forbid.insert("list");
    });
    let err = t.run("node1", &cmd(&["true"])).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("may not list pods in namespace \"glusterfs\""),
        "{msg}"
    );
    assert!(msg.contains("RBAC verb `list` on resource `pods`"), "{msg}");

    api.with(|s| {
        s.forbid.clear();
        s.forbid.insert("exec");
    });
    let err = t.run("node1", &cmd(&["true"])).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("RBAC verb `create` on resource `pods/exec`"),
        "{msg}"
    );
    assert!(api.execs().is_empty());

    let t = transport(&api, |c| c.use_pod_names = true);
    api.with(|s| {
        s.forbid.clear();
        s.forbid.insert("get");
    });
    let err = t.run("glusterfs-aaaaa", &cmd(&["true"])).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("RBAC verb `get` on resource `pods`"),
        "{err}"
    );

    // Wrong token.
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc");
    kube_fake::write_kubeconfig(&kc, &format!("http://{}", api.addr), "wrong", NS);
    let t = KubeTransport::new(KubeConfig {
        kubeconfig: kc,
        ..Default::default()
    })
    .unwrap();
    let err = t.run("node1", &cmd(&["true"])).await.unwrap_err();
    assert!(err.to_string().contains("unauthorized"), "{err}");
}

#[tokio::test]
async fn a_recreated_pod_is_found_again() {
    let api = three_nodes().await;
    let t = transport(&api, |_| {});
    t.run("node1", &cmd(&["true"])).await.expect("first");
    // The DaemonSet replaces the pod: new name, same label. The cached name now 404s on exec.
    api.with(|s| {
        s.pods
            .retain(|p| p["metadata"]["name"] != "glusterfs-aaaaa");
        s.pods.push(pod(
            NS,
            "glusterfs-new01",
            "node1",
            "Running",
            &["glusterfs"],
        ));
    });
    let out = t
        .run("node1", &cmd(&["echo", "again"]))
        .await
        .expect("second");
    assert_eq!(out.stdout, "again\n");
    let pods: Vec<String> = api.execs().into_iter().map(|e| e.pod).collect();
    assert_eq!(
        pods,
        ["glusterfs-aaaaa", "glusterfs-new01"],
        "ran exactly once on each"
    );
    let execs_tried = api.with(|s| s.requests.iter().filter(|r| r.contains("/exec?")).count());
    assert_eq!(execs_tried, 3, "one refused exec, then the retry");

    // Pod gone for good: the error names it after the fresh lookup.
    api.with(|s| {
        s.pods
            .retain(|p| p["metadata"]["name"] != "glusterfs-new01")
    });
    let err = t.run("node1", &cmd(&["true"])).await.unwrap_err();
    assert!(
        err.to_string().contains("no glusterfs pod for node node1"),
        "{err}"
    );
}

#[tokio::test]
async fn v4_protocol_large_output_and_missing_executables() {
    let api = three_nodes().await;
    api.with(|s| s.protocol = Some("v4.channel.k8s.io"));
    let t = transport(&api, |_| {});
    // Far more than the client's pipe buffers, on both streams at once.
    let out = t
        .run(
            "node1",
            &cmd(&[
                "sh",
                "-c",
                "head -c 300000 /dev/zero | tr '\\0' a; head -c 200000 /dev/zero | tr '\\0' b >&2; exit 2",
            ]),
        )
        .await
        .expect("run");
    assert_eq!(out.status, 2);
    assert_eq!(out.stdout.len(), 300000);
    assert!(out.stdout.bytes().all(|b| b == b'a'));
    assert_eq!(out.stderr.len(), 200000);
    assert_eq!(api.execs()[0].protocol, "v4.channel.k8s.io");

    // The exec cannot start the program: not an exit status, an error saying why.
    let t = transport(&api, |c| c.disable_timeout_prefix = true);
    let err = t
        .run("node1", &cmd(&["/nonexistent/gluster", "peer", "status"]))
        .await
        .unwrap_err();
    assert!(matches!(err, ExecError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("exec in pod glusterfs/glusterfs-aaaaa"),
        "{err}"
    );
    assert!(err.to_string().contains("OCI runtime exec failed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execs_per_node_are_limited() {
    let api = three_nodes().await;
    let t = std::sync::Arc::new(transport(&api, |c| c.max_execs_per_host = 2));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for host in [
        "node1", "node1", "node1", "node1", "node1", "node2", "node2",
    ] {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            t.run(host, &cmd(&["sleep", "0.4"])).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().expect("run").status, 0);
    }
    let (max1, max2) = api.with(|s| {
        (
            s.max_running.get("glusterfs-aaaaa").copied().unwrap_or(0),
            s.max_running.get("glusterfs-bbbbb").copied().unwrap_or(0),
        )
    });
    assert_eq!(max1, 2, "node1 limited to 2 at once");
    assert_eq!(max2, 2, "node2 not held up by node1");
    // 5 execs, 2 at a time: at least 3 rounds of 0.4 s.
    assert!(
        started.elapsed() >= Duration::from_millis(1150),
        "{:?}",
        started.elapsed()
    );
}

/// heketi.json's kubeexec block through `kube_executor`: the smaller of `max_execs_per_host`
/// and `max_commands_per_host` is the one limit, also for raw commands on its transport.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_executor_uses_the_smallest_per_host_limit() {
    let api = three_nodes().await;
    let block = |extra: serde_json::Value| {
        let mut v = serde_json::json!({"kubeconfig": api.kubeconfig, "namespace": NS});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        kube_executor(serde_json::from_value::<KubeExecConfig>(v).unwrap()).expect("executor")
    };
    assert_eq!(
        block(serde_json::json!({})).transport().per_host_limit(),
        8,
        "defaults"
    );
    let three = block(serde_json::json!({"max_execs_per_host": 3}));
    assert_eq!(three.transport().per_host_limit(), 3);
    let ex = std::sync::Arc::new(block(
        serde_json::json!({"max_execs_per_host": 8, "max_commands_per_host": 2}),
    ));
    assert_eq!(ex.transport().per_host_limit(), 2);
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let ex = ex.clone();
        tasks.push(tokio::spawn(async move {
            ex.transport().run("node1", &cmd(&["sleep", "0.4"])).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().expect("run").status, 0);
    }
    let max1 = api.with(|s| s.max_running.get("glusterfs-aaaaa").copied().unwrap_or(0));
    assert_eq!(max1, 2, "node1 limited to 2 at once");
}

#[tokio::test]
async fn the_command_layer_over_kube() {
    let api = three_nodes().await;
    let cfg: KubeExecConfig = serde_json::from_value(serde_json::json!({
        "kubeconfig": api.kubeconfig,
        "namespace": NS,
        "lvm_wrapper": "echo",
        "glusterd_check": "cli",
    }))
    .unwrap();
    assert_eq!(cfg.commands.fstab, "/var/lib/heketi/fstab");
    let ex = kube_executor(cfg).expect("executor");
    // Through the whole layer: the command's argv reaches the pod unchanged.
    let out = ex
        .transport()
        .run("node3", &cmd(&["echo", "layer"]))
        .await
        .expect("run");
    assert_eq!(out.stdout, "layer\n");
    assert_eq!(heqet_executor::Executor::name(&ex), "kubernetes");
}
