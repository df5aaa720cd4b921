-- heqet schema v1. Free space and brick ownership live here and change only inside
-- transactions; an operation's journal row is written in the same transaction that reserves
-- its space, before any node is touched.

CREATE TABLE clusters (
    id          TEXT PRIMARY KEY,
    block       INTEGER NOT NULL,
    file        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE nodes (
    id          TEXT PRIMARY KEY,
    cluster_id  TEXT NOT NULL REFERENCES clusters(id),
    zone        INTEGER NOT NULL,
    manage      TEXT NOT NULL,      -- JSON list
    storage     TEXT NOT NULL,      -- JSON list
    tags        TEXT NOT NULL DEFAULT '{}',
    state       TEXT NOT NULL,
    pending_op  TEXT                -- set while the add is running: node invisible
);
CREATE INDEX nodes_cluster ON nodes(cluster_id);

-- Every manage and storage hostname belongs to at most one node.
CREATE TABLE node_hostnames (
    hostname    TEXT PRIMARY KEY,
    node_id     TEXT NOT NULL
);

CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    node_id     TEXT NOT NULL REFERENCES nodes(id),
    name        TEXT NOT NULL,
    state       TEXT NOT NULL,
    total       INTEGER NOT NULL DEFAULT 0,   -- KiB
    free        INTEGER NOT NULL DEFAULT 0 CHECK (free >= 0),
    used        INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    extent_size INTEGER NOT NULL DEFAULT 4096,
    pv_uuid     TEXT NOT NULL DEFAULT '',
    paths       TEXT NOT NULL DEFAULT '[]',
    tags        TEXT NOT NULL DEFAULT '{}',
    pending_op  TEXT
);
CREATE INDEX devices_node ON devices(node_id);
CREATE UNIQUE INDEX devices_node_name ON devices(node_id, name);

CREATE TABLE volumes (
    id              TEXT PRIMARY KEY,
    cluster_id      TEXT NOT NULL REFERENCES clusters(id),
    name            TEXT NOT NULL,
    size            INTEGER NOT NULL,          -- GiB
    durability      TEXT NOT NULL,             -- JSON, as requested (echoed by the API)
    layout          TEXT NOT NULL,             -- JSON, as built
    gid             INTEGER NOT NULL DEFAULT 0,
    options         TEXT NOT NULL DEFAULT '[]',
    block           INTEGER NOT NULL DEFAULT 0,
    blockinfo       TEXT NOT NULL DEFAULT '{}',
    snapshot_enable INTEGER NOT NULL DEFAULT 0,
    snapshot_factor REAL NOT NULL DEFAULT 1,
    owner           TEXT NOT NULL DEFAULT 'admin',  -- role whose request created it
    hidden          INTEGER NOT NULL DEFAULT 0,     -- pending create or delete
    pending_op      TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX volumes_cluster ON volumes(cluster_id);
CREATE UNIQUE INDEX volumes_cluster_name ON volumes(cluster_id, name);

CREATE TABLE bricks (
    id                  TEXT PRIMARY KEY,
    volume_id           TEXT NOT NULL REFERENCES volumes(id),
    device_id           TEXT NOT NULL REFERENCES devices(id),
    node_id             TEXT NOT NULL,
    path                TEXT NOT NULL,
    size                INTEGER NOT NULL,      -- virtual, KiB
    tp_size             INTEGER NOT NULL,
    pool_metadata_size  INTEGER NOT NULL,
    thin_pool           TEXT NOT NULL,
    lv                  TEXT NOT NULL,
    arbiter             INTEGER NOT NULL DEFAULT 0,
    position            INTEGER NOT NULL,      -- gluster order within the volume
    pending_op          TEXT
);
CREATE INDEX bricks_volume ON bricks(volume_id);
CREATE INDEX bricks_device ON bricks(device_id);
CREATE INDEX bricks_pending ON bricks(pending_op) WHERE pending_op IS NOT NULL;

-- The pending-operation journal.
CREATE TABLE operations (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,      -- create-volume, delete-volume, ...
    status      TEXT NOT NULL DEFAULT '',   -- '' new, stale, failed
    created_at  INTEGER NOT NULL,
    payload     TEXT NOT NULL,      -- JSON: what the operation does, to redo or undo it
    changes     TEXT NOT NULL DEFAULT '[]'  -- JSON [{id, description}]
);

-- /queue entries: kept in the store so a poll across a restart gets the real outcome.
CREATE TABLE queue (
    id          TEXT PRIMARY KEY,
    op_id       TEXT,
    state       TEXT NOT NULL,      -- pending, done, failed
    location    TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    owner       TEXT NOT NULL DEFAULT 'admin',
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX queue_op ON queue(op_id);

CREATE TABLE attributes (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL
);
