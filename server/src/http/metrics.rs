//! `GET /metrics`: heketi's gauges in the Prometheus text format.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::SharedState;
use crate::store;

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

async fn render(st: &SharedState) -> Result<String, store::StoreError> {
    let topo = store::topology(&st.engine.store.read).await?;
    let ops = store::operation_rows(&st.engine.store.read).await?;
    let mut o = String::new();
    gauge(&mut o, "heketi_up", "Is heketi running?");
    o.push_str("heketi_up 1\n");
    gauge(&mut o, "heketi_cluster_count", "Number of clusters");
    let _ = writeln!(o, "heketi_cluster_count {}", topo.clusters.len());
    gauge(
        &mut o,
        "heketi_volumes_count",
        "Number of volumes on cluster",
    );
    for c in &topo.clusters {
        let _ = writeln!(
            o,
            "heketi_volumes_count{{cluster=\"{}\"}} {}",
            c.id,
            c.volumes.len()
        );
    }
    gauge(
        &mut o,
        "heketi_block_volumes_count",
        "Number of block volumes on cluster",
    );
    for c in &topo.clusters {
        let _ = writeln!(o, "heketi_block_volumes_count{{cluster=\"{}\"}} 0", c.id);
    }
    gauge(&mut o, "heketi_nodes_count", "Number of nodes on cluster");
    for c in &topo.clusters {
        let _ = writeln!(
            o,
            "heketi_nodes_count{{cluster=\"{}\"}} {}",
            c.id,
            c.nodes.len()
        );
    }
    gauge(&mut o, "heketi_device_count", "Number of devices on host");
    for c in &topo.clusters {
        for n in &c.nodes {
            let _ =
                writeln!(
                o,
                "heketi_device_count{{cluster=\"{}\",hostname=\"{}\",storage_hostname=\"{}\"}} {}",
                c.id,
                esc(n.hostnames.manage.first().map(String::as_str).unwrap_or("")),
                esc(n.hostnames.storage.first().map(String::as_str).unwrap_or("")),
                n.devices.len()
            );
        }
    }
    type Pick = fn(&heqet_api::DeviceInfoResponse) -> u64;
    let series: [(&str, &str, Pick); 7] = [
        (
            "heketi_device_size",
            "Total size of the device (KiB)",
            |d| d.storage.total,
        ),
        (
            "heketi_device_free",
            "Free space on the device (KiB)",
            |d| d.storage.free,
        ),
        (
            "heketi_device_used",
            "Used space on the device (KiB)",
            |d| d.storage.used,
        ),
        (
            "heketi_device_size_bytes",
            "Total size of the device",
            |d| d.storage.total * 1024,
        ),
        (
            "heketi_device_free_bytes",
            "Free space on the device",
            |d| d.storage.free * 1024,
        ),
        (
            "heketi_device_used_bytes",
            "Used space on the device",
            |d| d.storage.used * 1024,
        ),
        (
            "heketi_device_brick_count",
            "Number of bricks on device",
            |d| d.bricks.len() as u64,
        ),
    ];
    for (name, help, pick) in series {
        gauge(&mut o, name, help);
        for c in &topo.clusters {
            for n in &c.nodes {
                for d in &n.devices {
                    let _ = writeln!(
                        o,
                        "{name}{{cluster=\"{}\",hostname=\"{}\",storage_hostname=\"{}\",id=\"{}\",device=\"{}\",pv_uuid=\"{}\"}} {}",
                        c.id,
                        esc(n.hostnames.manage.first().map(String::as_str).unwrap_or("")),
                        esc(n.hostnames.storage.first().map(String::as_str).unwrap_or("")),
                        d.id,
                        esc(&d.name),
                        esc(&d.pv_uuid),
                        pick(d)
                    );
                }
            }
        }
    }
    let count = |s: &str| ops.iter().filter(|op| op.status == s).count();
    for (name, v) in [
        ("heketi_operations_total_count", ops.len()),
        ("heketi_operations_new_count", count("")),
        ("heketi_operations_stale_count", count("stale")),
        ("heketi_operations_failed_count", count("failed")),
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
