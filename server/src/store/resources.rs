//! The statements the HTTP handlers used to run themselves: cluster create, delete and flags,
//! node and device tags, and the aggregates behind `/metrics`. One statement per function, so
//! they can become methods of a typed store API as they are. Placement-cache invalidation
//! stays with the caller, which holds the [`super::Writer`] that owns the cache.

use heqet_api::Tags;
use sqlx::sqlite::SqliteConnection;
use sqlx::types::Json;
use sqlx::SqlitePool;

use super::StoreResult;
use crate::model::now_secs;

pub async fn insert_cluster(
    conn: &mut SqliteConnection,
    id: &str,
    block: bool,
    file: bool,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO clusters (id, block, file, created_at) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(block)
        .bind(file)
        .bind(now_secs())
        .execute(conn)
        .await?;
    Ok(())
}

/// Nodes and volumes in a cluster, counted on the writer so a delete that finds none cannot
/// race a node add.
pub async fn cluster_member_count(conn: &mut SqliteConnection, id: &str) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM nodes WHERE cluster_id = ?1) + \
                (SELECT COUNT(*) FROM volumes WHERE cluster_id = ?1)",
    )
    .bind(id)
    .fetch_one(conn)
    .await?)
}

pub async fn delete_cluster(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM clusters WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// `false` when there is no such cluster.
pub async fn set_cluster_flags(
    conn: &mut SqliteConnection,
    id: &str,
    block: bool,
    file: bool,
) -> StoreResult<bool> {
    let r = sqlx::query("UPDATE clusters SET block = ?, file = ? WHERE id = ?")
        .bind(block)
        .bind(file)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// The two kinds of object that carry tags. Each has its own statements (no table name is
/// ever put together at run time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tagged {
    Node,
    Device,
}

/// The tags of a node or device that is not being added or removed (`None`: no such object).
/// Read on the writer, so a change is read, applied and written under one lock.
pub async fn live_tags(
    conn: &mut SqliteConnection,
    of: Tagged,
    id: &str,
) -> StoreResult<Option<Tags>> {
    let sql = match of {
        Tagged::Node => "SELECT tags FROM nodes WHERE id = ? AND pending_op IS NULL",
        Tagged::Device => "SELECT tags FROM devices WHERE id = ? AND pending_op IS NULL",
    };
    let tags: Option<Json<Tags>> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(tags.map(|t| t.0))
}

pub async fn set_tags(
    conn: &mut SqliteConnection,
    of: Tagged,
    id: &str,
    tags: &Tags,
) -> StoreResult<()> {
    let sql = match of {
        Tagged::Node => "UPDATE nodes SET tags = ? WHERE id = ?",
        Tagged::Device => "UPDATE devices SET tags = ? WHERE id = ?",
    };
    sqlx::query(sql)
        .bind(Json(tags))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Visible volumes per cluster, `(cluster id, count)`; clusters without any are absent.
pub async fn volume_counts(pool: &SqlitePool) -> StoreResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT cluster_id, COUNT(*) FROM volumes WHERE hidden = 0 GROUP BY cluster_id",
    )
    .fetch_all(pool)
    .await?)
}

/// What the metrics label a node with.
#[derive(Debug, sqlx::FromRow)]
pub struct NodeLabels {
    pub id: String,
    pub cluster_id: String,
    pub manage: Json<Vec<String>>,
    pub storage: Json<Vec<String>>,
}

pub async fn node_labels(pool: &SqlitePool) -> StoreResult<Vec<NodeLabels>> {
    Ok(sqlx::query_as(
        "SELECT id, cluster_id, manage, storage FROM nodes WHERE pending_op IS NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await?)
}

/// A device's sizes (KiB) and brick count, as the metrics report them.
#[derive(Debug, sqlx::FromRow)]
pub struct DeviceFigures {
    pub id: String,
    pub node_id: String,
    pub name: String,
    pub pv_uuid: String,
    pub total: i64,
    pub free: i64,
    pub used: i64,
    pub bricks: i64,
}

pub async fn device_figures(pool: &SqlitePool) -> StoreResult<Vec<DeviceFigures>> {
    Ok(sqlx::query_as(
        "SELECT d.id, d.node_id, d.name, d.pv_uuid, d.total, d.free, d.used, \
         (SELECT COUNT(*) FROM bricks b WHERE b.device_id = d.id) AS bricks \
         FROM devices d WHERE d.pending_op IS NULL ORDER BY d.id",
    )
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        (dir, store)
    }

    async fn exec(conn: &mut SqliteConnection, sql: &str) {
        sqlx::query(sql).execute(conn).await.unwrap();
    }

    /// A node `n1` (live) and `n2` (being added) in cluster `c1`, a device on each, a visible
    /// volume with one brick on `d1` and a hidden one.
    async fn fixture(conn: &mut SqliteConnection) {
        insert_cluster(conn, "c1", false, true).await.unwrap();
        exec(
            conn,
            "INSERT INTO nodes (id, cluster_id, zone, manage, storage, state, pending_op) VALUES \
             ('n1', 'c1', 1, '[\"m1\"]', '[\"s1\"]', 'online', NULL), \
             ('n2', 'c1', 2, '[\"m2\"]', '[\"s2\"]', 'online', 'op')",
        )
        .await;
        exec(
            conn,
            "INSERT INTO devices (id, node_id, name, state, total, free, used, pv_uuid, pending_op) \
             VALUES ('d1', 'n1', '/dev/sdb', 'online', 100, 60, 40, 'pv1', NULL), \
                    ('d2', 'n2', '/dev/sdc', 'online', 100, 100, 0, 'pv2', 'op')",
        )
        .await;
        exec(
            conn,
            "INSERT INTO volumes (id, cluster_id, name, size, durability, layout, hidden, created_at) \
             VALUES ('v1', 'c1', 'vol_v1', 1, '{}', '{}', 0, 0), \
                    ('v2', 'c1', 'vol_v2', 1, '{}', '{}', 1, 0)",
        )
        .await;
        exec(
            conn,
            "INSERT INTO bricks (id, volume_id, device_id, node_id, path, size, tp_size, \
             pool_metadata_size, thin_pool, lv, position) \
             VALUES ('b1', 'v1', 'd1', 'n1', '/b', 1, 1, 1, 'tp', 'lv', 0)",
        )
        .await;
    }

    #[tokio::test]
    async fn cluster_statements() {
        let (_dir, store) = store().await;
        let mut w = store.writer().await;
        insert_cluster(&mut w.conn, "c1", true, false)
            .await
            .unwrap();
        assert_eq!(cluster_member_count(&mut w.conn, "c1").await.unwrap(), 0);
        assert!(set_cluster_flags(&mut w.conn, "c1", false, true)
            .await
            .unwrap());
        assert!(!set_cluster_flags(&mut w.conn, "nope", false, true)
            .await
            .unwrap());
        let row = crate::store::cluster_row(&mut w.conn, "c1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((row.block, row.file), (false, true));
        delete_cluster(&mut w.conn, "c1").await.unwrap();
        assert!(crate::store::cluster_row(&mut w.conn, "c1")
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn members_count_nodes_and_volumes() {
        let (_dir, store) = store().await;
        let mut w = store.writer().await;
        fixture(&mut w.conn).await;
        // Both nodes (pending or not) and both volumes (hidden or not) keep a cluster in use.
        assert_eq!(cluster_member_count(&mut w.conn, "c1").await.unwrap(), 4);
    }

    #[tokio::test]
    async fn tags_of_live_nodes_and_devices() {
        let (_dir, store) = store().await;
        let mut w = store.writer().await;
        fixture(&mut w.conn).await;
        let tags: Tags = [("k".to_string(), "v".to_string())].into();
        for (of, live, pending) in [(Tagged::Node, "n1", "n2"), (Tagged::Device, "d1", "d2")] {
            assert_eq!(
                live_tags(&mut w.conn, of, live).await.unwrap(),
                Some(Tags::new())
            );
            assert_eq!(live_tags(&mut w.conn, of, pending).await.unwrap(), None);
            assert_eq!(live_tags(&mut w.conn, of, "nope").await.unwrap(), None);
            set_tags(&mut w.conn, of, live, &tags).await.unwrap();
            assert_eq!(
                live_tags(&mut w.conn, of, live).await.unwrap(),
                Some(tags.clone())
            );
        }
        // The two kinds are separate: a node id is not a device id.
        assert_eq!(
            live_tags(&mut w.conn, Tagged::Device, "n1").await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn metrics_aggregates() {
        let (_dir, store) = store().await;
        {
            let mut w = store.writer().await;
            fixture(&mut w.conn).await;
        }
        let pool = &store.read;
        assert_eq!(
            volume_counts(pool).await.unwrap(),
            vec![("c1".to_string(), 1)]
        );
        let nodes = node_labels(pool).await.unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(
            (nodes[0].id.as_str(), nodes[0].cluster_id.as_str()),
            ("n1", "c1")
        );
        assert_eq!(
            (nodes[0].manage.0.clone(), nodes[0].storage.0.clone()),
            (vec!["m1".to_string()], vec!["s1".to_string()])
        );
        let devices = device_figures(pool).await.unwrap();
        assert_eq!(devices.len(), 1);
        let d = &devices[0];
        assert_eq!(
            (
                d.id.as_str(),
                d.node_id.as_str(),
                d.name.as_str(),
                d.pv_uuid.as_str()
            ),
            ("d1", "n1", "/dev/sdb", "pv1")
        );
        assert_eq!((d.total, d.free, d.used, d.bricks), (100, 60, 40, 1));
    }
}
