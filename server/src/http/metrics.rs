//! `GET /metrics`: heketi's gauges in the Prometheus text format.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::SharedState;
use crate::model::OpStatus;
use crate::store;
use crate::store::DeviceMetrics as DeviceFigures;

fn gauge(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// Prometheus label values escape `\`, `"` and newlines.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn metrics(State(st): State<SharedState>) -> Response {
    let body = match render(&st).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read topology");
            "# HELP heketi_up Is heketi running?\n# TYPE heketi_up gauge\nheketi_up 0\n".to_string()
        }
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// A few aggregate queries; the metrics never build the whole topology.
async fn render(st: &SharedState) -> Result<String, store::StoreError> {
    let store::MetricsFigures {
        clusters,
        volumes,
        nodes,
        devices,
        operations: ops,
    } = st.engine.store.read().metrics_figures().await?;
    let count_of = |cid: &str| {
        volumes
            .iter()
            .find(|(c, _)| c == cid)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let first = |v: &[String]| esc(v.first().map(String::as_str).unwrap_or(""));

    let mut o = String::new();
    gauge(&mut o, "heketi_up", "Is heketi running?");
    o.push_str("heketi_up 1\n");
    gauge(&mut o, "heketi_cluster_count", "Number of clusters");
    let _ = writeln!(o, "heketi_cluster_count {}", clusters.len());
    gauge(
        &mut o,
        "heketi_volumes_count",
        "Number of volumes on cluster",
    );
    for c in &clusters {
        let _ = writeln!(o, "heketi_volumes_count{{cluster=\"{c}\"}} {}", count_of(c));
    }
    gauge(
        &mut o,
        "heketi_block_volumes_count",
        "Number of block volumes on cluster",
    );
    for c in &clusters {
        let _ = writeln!(o, "heketi_block_volumes_count{{cluster=\"{c}\"}} 0");
    }
    gauge(&mut o, "heketi_nodes_count", "Number of nodes on cluster");
    for c in &clusters {
        let n = nodes.iter().filter(|n| &n.cluster_id == c).count();
        let _ = writeln!(o, "heketi_nodes_count{{cluster=\"{c}\"}} {n}");
    }
    gauge(&mut o, "heketi_device_count", "Number of devices on host");
    for n in &nodes {
        let count = devices.iter().filter(|d| d.node_id == n.id).count();
        let _ = writeln!(
            o,
            "heketi_device_count{{cluster=\"{}\",hostname=\"{}\",storage_hostname=\"{}\"}} {count}",
            n.cluster_id,
            first(&n.manage),
            first(&n.storage),
        );
    }
    type Pick = fn(&DeviceFigures) -> i64;
    let series: [(&str, &str, Pick); 7] = [
        (
            "heketi_device_size",
            "Total size of the device (KiB)",
            |d| d.total,
        ),
        (
            "heketi_device_free",
            "Free space on the device (KiB)",
            |d| d.free,
        ),
        (
            "heketi_device_used",
            "Used space on the device (KiB)",
            |d| d.used,
        ),
        (
            "heketi_device_size_bytes",
            "Total size of the device",
            |d| d.total * 1024,
        ),
        (
            "heketi_device_free_bytes",
            "Free space on the device",
            |d| d.free * 1024,
        ),
        (
            "heketi_device_used_bytes",
            "Used space on the device",
            |d| d.used * 1024,
        ),
        (
            "heketi_device_brick_count",
            "Number of bricks on device",
            |d| d.bricks,
        ),
    ];
    for (name, help, pick) in series {
        gauge(&mut o, name, help);
        for n in &nodes {
            for d in devices.iter().filter(|d| d.node_id == n.id) {
                let _ = writeln!(
                    o,
                    "{name}{{cluster=\"{}\",hostname=\"{}\",storage_hostname=\"{}\",id=\"{}\",device=\"{}\",pv_uuid=\"{}\"}} {}",
                    n.cluster_id,
                    first(&n.manage),
                    first(&n.storage),
                    d.id,
                    esc(&d.name),
                    esc(&d.pv_uuid),
                    pick(d)
                );
            }
        }
    }
    let count = |s: OpStatus| ops.iter().filter(|op| op.status == s).count();
    for (name, v) in [
        ("heketi_operations_total_count", ops.len()),
        ("heketi_operations_new_count", count(OpStatus::New)),
        ("heketi_operations_stale_count", count(OpStatus::Stale)),
        ("heketi_operations_failed_count", count(OpStatus::Failed)),
        (
            "heketi_operations_inFlight_count",
            st.engine.in_flight_count(),
        ),
    ] {
        gauge(&mut o, name, "Pending operations");
        let _ = writeln!(o, "{name} {v}");
    }
    Ok(o)
}
