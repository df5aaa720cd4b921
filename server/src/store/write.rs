//! Write-side building blocks used inside the writer's transactions.

use sqlx::sqlite::SqliteConnection;
use sqlx::types::Json;

use super::{StoreError, StoreResult};
use crate::model::{now_secs, queue_state, BrickRow, Change, OpPayload};

pub async fn insert_operation(
    conn: &mut SqliteConnection,
    op_id: &str,
    payload: &OpPayload,
    changes: &[Change],
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO operations (id, kind, status, created_at, payload, changes) VALUES (?, ?, '', ?, ?, ?)",
    )
    .bind(op_id)
    .bind(payload.kind().type_name())
    .bind(now_secs())
    .bind(Json(payload))
    .bind(Json(changes))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_operation(conn: &mut SqliteConnection, op_id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM operations WHERE id = ?")
        .bind(op_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_operation_status(
    conn: &mut SqliteConnection,
    op_id: &str,
    status: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE operations SET status = ? WHERE id = ?")
        .bind(status)
        .bind(op_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_queue(
    conn: &mut SqliteConnection,
    queue_id: &str,
    op_id: Option<&str>,
    owner: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO queue (id, op_id, state, owner, created_at) VALUES (?, ?, 'pending', ?, ?)",
    )
    .bind(queue_id)
    .bind(op_id)
    .bind(owner)
    .bind(now_secs())
    .execute(conn)
    .await?;
    Ok(())
}

/// Record the outcome of a queue entry: `location` for 303 (empty = 204), or an error.
pub async fn finish_queue(
    conn: &mut SqliteConnection,
    queue_id: &str,
    outcome: &Result<String, String>,
) -> StoreResult<()> {
    let (state, location, message) = match outcome {
        Ok(loc) => (queue_state::DONE, loc.as_str(), ""),
        Err(msg) => (queue_state::FAILED, "", msg.as_str()),
    };
    sqlx::query(
        "UPDATE queue SET state = ?, location = ?, message = ?, finished_at = ? WHERE id = ?",
    )
    .bind(state)
    .bind(location)
    .bind(message)
    .bind(now_secs())
    .bind(queue_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Take `amount` KiB from a device, only if it has more than that free (heketi's rule).
pub async fn reserve(conn: &mut SqliteConnection, device_id: &str, amount: i64) -> StoreResult<()> {
    let r = sqlx::query(
        "UPDATE devices SET free = free - ?1, used = used + ?1 WHERE id = ?2 AND free > ?1",
    )
    .bind(amount)
    .bind(device_id)
    .execute(conn)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "device {device_id} no longer has {amount} KiB free"
        )));
    }
    Ok(())
}

pub async fn release(conn: &mut SqliteConnection, device_id: &str, amount: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE devices SET free = MIN(total, free + ?1), used = MAX(0, used - ?1) WHERE id = ?2",
    )
    .bind(amount)
    .bind(device_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_brick(conn: &mut SqliteConnection, b: &BrickRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO bricks (id, volume_id, device_id, node_id, path, size, tp_size, \
         pool_metadata_size, thin_pool, lv, arbiter, position, pending_op) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&b.id)
    .bind(&b.volume_id)
    .bind(&b.device_id)
    .bind(&b.node_id)
    .bind(&b.path)
    .bind(b.size)
    .bind(b.tp_size)
    .bind(b.pool_metadata_size)
    .bind(&b.thin_pool)
    .bind(&b.lv)
    .bind(b.arbiter)
    .bind(b.position)
    .bind(&b.pending_op)
    .execute(conn)
    .await?;
    Ok(())
}

/// Insert bricks in one statement.
pub async fn insert_bricks(conn: &mut SqliteConnection, bricks: &[BrickRow]) -> StoreResult<()> {
    if bricks.is_empty() {
        return Ok(());
    }
    let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO bricks (id, volume_id, device_id, node_id, path, size, tp_size, \
         pool_metadata_size, thin_pool, lv, arbiter, position, pending_op) ",
    );
    qb.push_values(bricks, |mut row, b| {
        row.push_bind(&b.id)
            .push_bind(&b.volume_id)
            .push_bind(&b.device_id)
            .push_bind(&b.node_id)
            .push_bind(&b.path)
            .push_bind(b.size)
            .push_bind(b.tp_size)
            .push_bind(b.pool_metadata_size)
            .push_bind(&b.thin_pool)
            .push_bind(&b.lv)
            .push_bind(b.arbiter)
            .push_bind(b.position)
            .push_bind(&b.pending_op);
    });
    qb.build().execute(conn).await?;
    Ok(())
}

/// Reserve the space of `bricks` on their devices in one conditional statement: either every
/// device still has more than it must give, or nothing changes and the call fails.
pub async fn reserve_for(conn: &mut SqliteConnection, bricks: &[BrickRow]) -> StoreResult<()> {
    let mut need: Vec<(&str, i64)> = Vec::new();
    for b in bricks {
        match need.iter_mut().find(|(d, _)| *d == b.device_id) {
            Some((_, n)) => *n += b.reserved(),
            None => need.push((&b.device_id, b.reserved())),
        }
    }
    if need.is_empty() {
        return Ok(());
    }
    let amounts = serde_json::to_string(
        &need
            .iter()
            .map(|(d, n)| serde_json::json!([d, n]))
            .collect::<Vec<_>>(),
    )
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // json_each over [[device, amount], …]: one pass, all-or-nothing via the count check.
    let r = sqlx::query(
        "WITH need(id, amount) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)) \
         UPDATE devices SET free = free - (SELECT amount FROM need WHERE need.id = devices.id), \
                            used = used + (SELECT amount FROM need WHERE need.id = devices.id) \
         WHERE id IN (SELECT id FROM need) \
           AND free > (SELECT amount FROM need WHERE need.id = devices.id)",
    )
    .bind(&amounts)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() as usize != need.len() {
        return Err(StoreError::Conflict(
            "a device no longer has the space placement counted on".into(),
        ));
    }
    Ok(())
}

/// Delete bricks and give their space back (where it was reclaimed on the node).
pub async fn remove_bricks(
    conn: &mut SqliteConnection,
    bricks: &[BrickRow],
    release_space: bool,
) -> StoreResult<()> {
    for b in bricks {
        if release_space {
            release(conn, &b.device_id, b.reserved()).await?;
        }
        sqlx::query("DELETE FROM bricks WHERE id = ?")
            .bind(&b.id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
