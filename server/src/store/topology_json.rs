//! `GET /topology` rendered by SQLite's JSON functions: the document for 10,000 volumes is
//! built in C inside one read transaction, without materialising Rust structs for every
//! brick twice. Key order and omit-when-empty rules match the serde types in `heqet-api`
//! (checked by the API tests, which compare it with the per-object routes).

use sqlx::sqlite::SqliteConnection;
use sqlx::types::Json;
use sqlx::{Executor as _, SqlitePool};

use super::StoreResult;

/// JSON of one brick row aliased `b`.
const BRICK: &str = "json_object('id', b.id, 'path', b.path, 'device', b.device_id, \
     'node', b.node_id, 'volume', b.volume_id, 'size', b.size)";

/// SQL boolean column to a JSON boolean.
fn boolean(col: &str) -> String {
    format!("json(CASE WHEN {col} THEN 'true' ELSE 'false' END)")
}

fn volumes_sql() -> String {
    format!(
        "SELECT json_remove(json_object(\
           'size', v.size, 'name', v.name, 'durability', json(v.durability), 'gid', v.gid, \
           'glustervolumeoptions', json(v.options), 'block', {block}, \
           'snapshot', json_object('enable', {snap}, 'factor', \
               CASE WHEN v.snapshot_factor = CAST(v.snapshot_factor AS INTEGER) \
                    THEN CAST(v.snapshot_factor AS INTEGER) ELSE v.snapshot_factor END), \
           'id', v.id, 'cluster', v.cluster_id, \
           'mount', json_object('glusterfs', json_object('hosts', json(?2), \
               'device', ?3 || ':' || v.name, \
               'options', json_object('backup-volfile-servers', ?4))), \
           'blockinfo', json(v.blockinfo), \
           'bricks', (SELECT json_group_array({BRICK}) FROM \
               (SELECT * FROM bricks WHERE volume_id = v.id ORDER BY id) b)), \
         CASE WHEN v.gid = 0 THEN '$.gid' ELSE '$.__keep' END, \
         CASE WHEN v.options = '[]' THEN '$.glustervolumeoptions' ELSE '$.__keep' END, \
         CASE WHEN v.block THEN '$.__keep' ELSE '$.block' END) \
         FROM volumes v WHERE v.cluster_id = ?1 AND v.hidden = 0 ORDER BY v.id",
        block = boolean("v.block"),
        snap = boolean("v.snapshot_enable"),
    )
}

fn nodes_sql() -> String {
    let device = format!(
        "json_remove(json_object(\
           'name', d.name, 'tags', json(d.tags), \
           'storage', json_object('total', d.total, 'free', d.free, 'used', d.used), \
           'id', d.id, 'paths', json(d.paths), 'pv_uuid', d.pv_uuid, 'state', d.state, \
           'bricks', (SELECT json_group_array({BRICK}) FROM \
               (SELECT * FROM bricks WHERE device_id = d.id ORDER BY id) b)), \
         CASE WHEN d.tags = '{{}}' THEN '$.tags' ELSE '$.__keep' END, \
         CASE WHEN d.paths = '[]' THEN '$.paths' ELSE '$.__keep' END, \
         CASE WHEN d.pv_uuid = '' THEN '$.pv_uuid' ELSE '$.__keep' END)"
    );
    format!(
        "SELECT json_remove(json_object(\
           'zone', n.zone, \
           'hostnames', json_object('manage', json(n.manage), 'storage', json(n.storage)), \
           'cluster', n.cluster_id, 'tags', json(n.tags), 'id', n.id, 'state', n.state, \
           'devices', (SELECT json_group_array(json(dj)) FROM \
               (SELECT {device} AS dj FROM devices d \
                WHERE d.node_id = n.id AND d.pending_op IS NULL ORDER BY d.id))), \
         CASE WHEN n.tags = '{{}}' THEN '$.tags' ELSE '$.__keep' END) \
         FROM nodes n WHERE n.cluster_id = ?1 AND n.pending_op IS NULL ORDER BY n.id"
    )
}

/// The whole topology as heqet's `GET /topology` body (with the trailing newline).
pub async fn topology_json(pool: &SqlitePool) -> StoreResult<Vec<u8>> {
    let mut conn = pool.acquire().await?;
    // One read transaction: a consistent picture across the queries.
    conn.execute("BEGIN").await?;
    let result = render(&mut conn).await;
    let _ = conn.execute("COMMIT").await;
    result
}

async fn render(conn: &mut SqliteConnection) -> StoreResult<Vec<u8>> {
    let clusters: Vec<(String, bool, bool)> =
        sqlx::query_as("SELECT id, block, file FROM clusters ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    let (vsql, nsql) = (volumes_sql(), nodes_sql());
    let mut out = Vec::with_capacity(64 * 1024);
    out.extend_from_slice(b"{\"clusters\":[");
    for (i, (id, block, file)) in clusters.iter().enumerate() {
        let storage: Vec<Json<Vec<String>>> = sqlx::query_scalar(
            "SELECT storage FROM nodes WHERE cluster_id = ? AND pending_op IS NULL ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let hosts: Vec<String> = storage
            .into_iter()
            .filter_map(|s| s.0.into_iter().next())
            .collect();
        let hosts_json = serde_json::to_string(&hosts).unwrap_or_else(|_| "[]".into());
        let first = hosts.first().cloned().unwrap_or_default();
        let backup = hosts.get(1..).unwrap_or_default().join(",");
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"volumes\":[");
        let volumes: Vec<String> = sqlx::query_scalar(&vsql)
            .bind(id)
            .bind(&hosts_json)
            .bind(&first)
            .bind(&backup)
            .fetch_all(&mut *conn)
            .await?;
        join_into(&mut out, &volumes);
        out.extend_from_slice(b"],\"nodes\":[");
        let nodes: Vec<String> = sqlx::query_scalar(&nsql)
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
        join_into(&mut out, &nodes);
        out.extend_from_slice(b"],\"id\":");
        out.extend_from_slice(serde_json::to_string(id).unwrap_or_default().as_bytes());
        out.extend_from_slice(format!(",\"block\":{block},\"file\":{file}}}").as_bytes());
    }
    out.extend_from_slice(b"]}\n");
    Ok(out)
}

fn join_into(out: &mut Vec<u8>, parts: &[String]) {
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(p.as_bytes());
    }
}
