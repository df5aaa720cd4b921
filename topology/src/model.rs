//! The topology.json file that `heketi-cli topology load` reads (docs/cli.md §9.1), parsed
//! and validated before anything is sent to the server, so that a typo is reported with
//! its place in the file instead of half-loading a cluster.
//!
//! Stricter than heketi-cli (which ignores unknown keys): unknown keys are errors, because a
//! misspelt `"zone"` or `"destroydata"` silently changes what gets created. A node-level
//! `"cluster"` key is accepted and ignored: the node is a node-add request, and heketi-cli
//! overwrites its cluster with the one it creates or finds.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use thiserror::Error;

/// The whole file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopologyFile {
    /// Clusters in file order.
    pub clusters: Vec<ClusterSpec>,
}

/// One cluster to create (or to find through one of its existing nodes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterSpec {
    /// Allow block volumes (default true).
    pub block: bool,
    /// Allow file volumes (default true).
    pub file: bool,
    /// Nodes in file order.
    pub nodes: Vec<NodeSpec>,
}

/// A node and its devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeSpec {
    /// Management and storage hostnames.
    pub hostnames: Hostnames,
    /// 1 or more.
    pub zone: i64,
    /// Node tags (heketi tag rules).
    pub tags: BTreeMap<String, String>,
    /// Devices in file order; empty when the node has none.
    pub devices: Vec<DeviceSpec>,
}

impl NodeSpec {
    /// The node's identity for `topology load`: its first management hostname.
    pub fn manage_host(&self) -> &str {
        self.hostnames.manage.first().map_or("", String::as_str)
    }
}

/// Where commands go (`manage`) and what gluster and clients use (`storage`); only the
/// first entry of each is used, both are non-empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hostnames {
    /// Management hostnames (SSH target or Kubernetes node name).
    pub manage: Vec<String>,
    /// Storage hostnames (addresses in brick specs and mounts).
    pub storage: Vec<String>,
}

/// A raw device to add.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceSpec {
    /// Device path, e.g. `/dev/sdb`.
    pub name: String,
    /// Wipe existing data on the device when adding it.
    pub destroydata: bool,
    /// Device tags (heketi tag rules).
    pub tags: BTreeMap<String, String>,
}

/// What is wrong with a topology file, and where. `at` names the place: `cluster <i>`,
/// `node <manage hostname>` (or its index when it has none), `device <i> (<path>)`.
#[allow(missing_docs)] // fields are named for what they hold; Display says the rest
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TopologyError {
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{at}: unknown key \"{key}\" ({hint})")]
    UnknownKey {
        at: String,
        key: String,
        hint: String,
    },
    #[error("{at}: missing key \"{key}\"")]
    MissingKey { at: String, key: &'static str },
    #[error("{at}: \"{key}\" must be {expected}")]
    WrongType {
        at: String,
        key: String,
        expected: &'static str,
    },
    #[error("{at}: no {kind} hostname (hostnames.{kind} must list at least one)")]
    MissingHostname { at: String, kind: &'static str },
    #[error("{at}: {kind} hostname {name:?} is not a valid IP address or DNS name")]
    InvalidHostname {
        at: String,
        kind: &'static str,
        name: String,
    },
    #[error("{at}: zone must be 1 or more, got {zone}")]
    InvalidZone { at: String, zone: i64 },
    #[error("{at}: device path {name:?} must be absolute and match ^/[a-zA-Z0-9_.:/-]+$")]
    InvalidDevicePath { at: String, name: String },
    #[error("{at}: device {name} is listed twice on this node")]
    DuplicateDevice { at: String, name: String },
    #[error("{kind} hostname {name} is used by two nodes: {first} and {second}")]
    DuplicateHostname {
        kind: &'static str,
        name: String,
        first: String,
        second: String,
    },
    #[error("{at}: {reason}")]
    InvalidTags { at: String, reason: String },
}

type Result<T> = std::result::Result<T, TopologyError>;

/// Parses and validates a topology file.
pub fn parse_topology(text: &str) -> Result<TopologyFile> {
    let value: Value = serde_json::from_str(text).map_err(|e| TopologyError::Json {
        line: e.line(),
        column: e.column(),
        message: json_message(&e),
    })?;
    let top = as_object(&value, "the top level", "the file", "an object")?;
    check_keys(top, &["clusters"], "the top level")?;
    let clusters = required(top, "clusters", "the top level")?;
    let clusters = as_array(clusters, "the top level", "clusters")?;
    let mut parsed = Vec::with_capacity(clusters.len());
    let mut hosts = HostRegistry::default();
    for (i, cluster) in clusters.iter().enumerate() {
        parsed.push(parse_cluster(cluster, i, &mut hosts)?);
    }
    Ok(TopologyFile { clusters: parsed })
}

/// serde_json appends " at line L column C"; we report those separately.
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

fn parse_cluster(value: &Value, index: usize, hosts: &mut HostRegistry) -> Result<ClusterSpec> {
    let at = format!("cluster {index}");
    let obj = as_object(value, "clusters", &at, "an object")?;
    check_keys(obj, &["nodes", "block", "file"], &at)?;
    let block = optional_bool(obj, "block", &at)?.unwrap_or(true);
    let file = optional_bool(obj, "file", &at)?.unwrap_or(true);
    let nodes = as_array(required(obj, "nodes", &at)?, &at, "nodes")?;
    let mut parsed = Vec::with_capacity(nodes.len());
    for (n, node) in nodes.iter().enumerate() {
        parsed.push(parse_node_entry(node, index, n, hosts)?);
    }
    Ok(ClusterSpec {
        block,
        file,
        nodes: parsed,
    })
}

fn parse_node_entry(
    value: &Value,
    cluster: usize,
    index: usize,
    hosts: &mut HostRegistry,
) -> Result<NodeSpec> {
    // Name the node by its hostname where it has one: that is what the user searches for.
    let peek = value
        .pointer("/node/hostnames/manage/0")
        .and_then(Value::as_str);
    let at = match peek {
        Some(host) => format!("cluster {cluster}, node {host}"),
        None => format!("cluster {cluster}, node {index}"),
    };
    let entry = as_object(value, "nodes", &at, "an object")?;
    check_keys(entry, &["node", "devices"], &at)?;
    let node = as_object(required(entry, "node", &at)?, "node", &at, "an object")?;
    check_keys(node, &["hostnames", "zone", "tags", "cluster"], &at)?;

    let hostnames = parse_hostnames(required(node, "hostnames", &at)?, &at)?;
    let zone = match required(node, "zone", &at)? {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| wrong_type(&at, "zone", "an integer"))?,
        _ => return Err(wrong_type(&at, "zone", "an integer")),
    };
    if zone < 1 {
        return Err(TopologyError::InvalidZone { at, zone });
    }
    if let Some(c) = node.get("cluster") {
        if !c.is_string() {
            return Err(wrong_type(&at, "cluster", "a string (it is ignored)"));
        }
    }
    let tags = parse_tags(node.get("tags"), &at)?;
    hosts.register(&hostnames, &at)?;

    let devices = match entry.get("devices") {
        None | Some(Value::Null) => &[][..],
        Some(v) => as_array(v, &at, "devices")?.as_slice(),
    };
    let mut parsed: Vec<DeviceSpec> = Vec::with_capacity(devices.len());
    for (d, device) in devices.iter().enumerate() {
        let spec = parse_device(device, &format!("{at}, device {d}"))?;
        if parsed.iter().any(|p| p.name == spec.name) {
            return Err(TopologyError::DuplicateDevice {
                at,
                name: spec.name,
            });
        }
        parsed.push(spec);
    }
    Ok(NodeSpec {
        hostnames,
        zone,
        tags,
        devices: parsed,
    })
}

fn parse_hostnames(value: &Value, at: &str) -> Result<Hostnames> {
    let obj = as_object(value, "hostnames", at, "an object")?;
    let at_h = format!("{at}, hostnames");
    check_keys(obj, &["manage", "storage"], &at_h)?;
    let list = |kind: &'static str| -> Result<Vec<String>> {
        let items = match obj.get(kind) {
            None | Some(Value::Null) => &[][..],
            Some(v) => as_array(v, &at_h, kind)?.as_slice(),
        };
        if items.is_empty() {
            return Err(TopologyError::MissingHostname {
                at: at.to_string(),
                kind,
            });
        }
        items
            .iter()
            .map(|item| match item {
                Value::String(s) if is_host(s) => Ok(s.clone()),
                Value::String(s) => Err(TopologyError::InvalidHostname {
                    at: at.to_string(),
                    kind,
                    name: s.clone(),
                }),
                _ => Err(wrong_type(&at_h, kind, "a list of strings")),
            })
            .collect()
    };
    Ok(Hostnames {
        manage: list("manage")?,
        storage: list("storage")?,
    })
}

fn parse_device(value: &Value, at: &str) -> Result<DeviceSpec> {
    let (name, destroydata, tags) = match value {
        Value::String(name) => (name.clone(), false, BTreeMap::new()),
        Value::Object(obj) => {
            check_keys(obj, &["name", "destroydata", "tags"], at)?;
            let name = match required(obj, "name", at)? {
                Value::String(s) => s.clone(),
                _ => return Err(wrong_type(at, "name", "a string")),
            };
            let at = format!("{at} ({name})");
            let destroydata = optional_bool(obj, "destroydata", &at)?.unwrap_or(false);
            (name, destroydata, parse_tags(obj.get("tags"), &at)?)
        }
        _ => {
            return Err(wrong_type(
                at,
                "devices",
                "a list of paths or {\"name\": …} objects",
            ))
        }
    };
    if !is_device_path(&name) {
        return Err(TopologyError::InvalidDevicePath {
            at: at.to_string(),
            name,
        });
    }
    Ok(DeviceSpec {
        name,
        destroydata,
        tags,
    })
}

/// heketi's tag rules: at most 32, keys 1–32 of `[a-zA-Z0-9_.-]`, values up to 64 chars.
fn parse_tags(value: Option<&Value>, at: &str) -> Result<BTreeMap<String, String>> {
    let obj = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(v) => as_object(v, "tags", at, "an object of strings")?,
    };
    let invalid = |reason: String| TopologyError::InvalidTags {
        at: at.to_string(),
        reason,
    };
    if obj.len() > 32 {
        return Err(invalid(format!(
            "too many tags ({}), up to 32 supported",
            obj.len()
        )));
    }
    let mut tags = BTreeMap::new();
    for (key, value) in obj {
        let key_ok = (1..=32).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !key_ok {
            return Err(invalid(format!(
                "invalid tag name {key:?} (1-32 letters, digits, '_', '.', '-')"
            )));
        }
        let Value::String(v) = value else {
            return Err(invalid(format!("tag {key:?} must have a string value")));
        };
        if v.chars().count() > 64 {
            return Err(invalid(format!(
                "value of tag {key:?} is longer than 64 characters"
            )));
        }
        tags.insert(key.clone(), v.clone());
    }
    Ok(tags)
}

/// Hostnames seen so far, per kind: the serial number and description of their node.
#[derive(Default)]
struct HostRegistry {
    nodes: usize,
    manage: HashMap<String, (usize, String)>,
    storage: HashMap<String, (usize, String)>,
}

impl HostRegistry {
    /// heketi refuses a node whose manage or storage name another node already has.
    fn register(&mut self, hostnames: &Hostnames, at: &str) -> Result<()> {
        let node = self.nodes;
        self.nodes += 1;
        for (kind, names, seen) in [
            ("manage", &hostnames.manage, &mut self.manage),
            ("storage", &hostnames.storage, &mut self.storage),
        ] {
            for name in names {
                match seen.get(name) {
                    // The same name twice in one node's list is harmless.
                    Some((first, first_at)) if *first != node => {
                        return Err(TopologyError::DuplicateHostname {
                            kind,
                            name: name.clone(),
                            first: first_at.clone(),
                            second: at.to_string(),
                        });
                    }
                    _ => {
                        seen.insert(name.clone(), (node, at.to_string()));
                    }
                }
            }
        }
        Ok(())
    }
}

/// `^/[a-zA-Z0-9_.:/-]+$`
fn is_device_path(name: &str) -> bool {
    name.len() > 1
        && name.starts_with('/')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'/' | b'-'))
}

/// heketi's host rule (govalidator IsHost): an IP address or a DNS name whose labels start
/// with a letter, digit or `_`, continue with those or `-`, are at most 63 long; a
/// trailing dot is allowed.
fn is_host(name: &str) -> bool {
    if name.parse::<IpAddr>().is_ok() {
        return true;
    }
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() || trimmed.len() > 253 {
        return false;
    }
    trimmed.split('.').all(|label| {
        let mut bytes = label.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        first_ok
            && label.len() <= 63
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

fn wrong_type(at: &str, key: &str, expected: &'static str) -> TopologyError {
    TopologyError::WrongType {
        at: at.to_string(),
        key: key.to_string(),
        expected,
    }
}

fn as_object<'v>(
    value: &'v Value,
    key: &str,
    at: &str,
    expected: &'static str,
) -> Result<&'v Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| wrong_type(at, key, expected))
}

fn as_array<'v>(value: &'v Value, at: &str, key: &str) -> Result<&'v Vec<Value>> {
    value
        .as_array()
        .ok_or_else(|| wrong_type(at, key, "a list"))
}

fn required<'v>(obj: &'v Map<String, Value>, key: &'static str, at: &str) -> Result<&'v Value> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(TopologyError::MissingKey {
            at: at.to_string(),
            key,
        }),
        Some(v) => Ok(v),
    }
}

fn optional_bool(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<bool>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong_type(at, key, "true or false")),
    }
}

/// Rejects keys outside `allowed`, with a hint for case mistakes (heketi-cli, written in
/// Go, would have matched keys case-insensitively).
fn check_keys(obj: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<()> {
    for key in obj.keys() {
        if allowed.contains(&key.as_str()) {
            continue;
        }
        let hint = match allowed.iter().find(|a| a.eq_ignore_ascii_case(key)) {
            Some(a) => format!("keys are case-sensitive: did you mean \"{a}\"?"),
            None => format!("allowed here: {}", allowed.join(", ")),
        };
        return Err(TopologyError::UnknownKey {
            at: at.to_string(),
            key: key.clone(),
            hint,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
  "clusters": [
    {
      "block": false,
      "nodes": [
        {
          "node": {
            "hostnames": {"manage": ["node1.example.com"], "storage": ["10.0.0.1"]},
            "zone": 1,
            "tags": {"rack": "a"}
          },
          "devices": [
            "/dev/sdb",
            {"name": "/dev/sdc", "destroydata": true, "tags": {"disk": "ssd"}},
            {"name": "/dev/disk/by-id/wwn-0x5000c500a1b2:part1"}
          ]
        },
        {
          "node": {
            "hostnames": {"manage": ["node2"], "storage": ["10.0.0.2"]},
            "zone": 2,
            "cluster": "67e267ea403dfcdf80731165b300d1ca"
          }
        }
      ]
    },
    {"nodes": []}
  ]
}"#;

    /// The good file with `from` replaced by `to` (which must occur exactly once).
    fn variant(from: &str, to: &str) -> String {
        assert_eq!(GOOD.matches(from).count(), 1, "{from}");
        GOOD.replace(from, to)
    }

    fn err(text: &str) -> TopologyError {
        match parse_topology(text) {
            Ok(t) => panic!("accepted: {t:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn good_file_forms() {
        let t = parse_topology(GOOD).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.clusters.len(), 2);
        let c = &t.clusters[0];
        assert_eq!((c.block, c.file), (false, true));
        assert_eq!((t.clusters[1].block, t.clusters[1].file), (true, true));
        let n = &c.nodes[0];
        assert_eq!(n.manage_host(), "node1.example.com");
        assert_eq!(n.hostnames.storage, ["10.0.0.1"]);
        assert_eq!(n.zone, 1);
        assert_eq!(n.tags.get("rack").map(String::as_str), Some("a"));
        assert_eq!(
            n.devices[0],
            DeviceSpec {
                name: "/dev/sdb".into(),
                destroydata: false,
                tags: BTreeMap::new()
            }
        );
        assert!(n.devices[1].destroydata);
        assert_eq!(
            n.devices[1].tags.get("disk").map(String::as_str),
            Some("ssd")
        );
        assert_eq!(
            n.devices[2].name,
            "/dev/disk/by-id/wwn-0x5000c500a1b2:part1"
        );
        // No "devices" key: a node without devices; the node-level cluster is ignored.
        assert!(c.nodes[1].devices.is_empty());
        assert_eq!(c.nodes[1].zone, 2);
    }

    #[test]
    fn invalid_json_has_line_and_column() {
        let e = err("{\n  \"clusters\": [\n    {,}\n  ]\n}");
        let TopologyError::Json { line, column, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!((*line, *column), (3, 6));
        assert!(
            e.to_string()
                .starts_with("invalid JSON at line 3, column 6: "),
            "{e}"
        );
        assert!(matches!(err(""), TopologyError::Json { .. }));
    }

    #[test]
    fn unknown_keys_are_named_with_their_place() {
        let e = err(&variant("\"zone\": 2,", "\"zone\": 2, \"Zone\": 3,"));
        assert_eq!(
            e.to_string(),
            "cluster 0, node node2: unknown key \"Zone\" (keys are case-sensitive: did you mean \"zone\"?)"
        );
        let e = err(&variant("\"destroydata\": true,", "\"destroy\": true,"));
        assert_eq!(
            e.to_string(),
            "cluster 0, node node1.example.com, device 1: unknown key \"destroy\" (allowed here: name, destroydata, tags)"
        );
        let e = err(&variant(
            "{\"nodes\": []}",
            "{\"nodes\": [], \"name\": \"x\"}",
        ));
        assert!(
            e.to_string().starts_with("cluster 1: unknown key \"name\""),
            "{e}"
        );
        let e = err("{\"clusters\": [], \"version\": 1}");
        assert!(
            e.to_string()
                .starts_with("the top level: unknown key \"version\""),
            "{e}"
        );
    }

    #[test]
    fn missing_hostnames() {
        let e = err(&variant("\"manage\": [\"node2\"], ", ""));
        assert_eq!(
            e.to_string(),
            "cluster 0, node 1: no manage hostname (hostnames.manage must list at least one)"
        );
        let e = err(&variant("\"storage\": [\"10.0.0.2\"]", "\"storage\": []"));
        assert_eq!(
            e.to_string(),
            "cluster 0, node node2: no storage hostname (hostnames.storage must list at least one)"
        );
        let e = err(&variant("[\"10.0.0.2\"]", "[\"bad host\"]"));
        assert!(
            matches!(
                e,
                TopologyError::InvalidHostname {
                    kind: "storage",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn zone_must_be_positive() {
        let e = err(&variant("\"zone\": 2,", "\"zone\": 0,"));
        assert_eq!(
            e.to_string(),
            "cluster 0, node node2: zone must be 1 or more, got 0"
        );
        let e = err(&variant("\"zone\": 2,", "\"zone\": -3,"));
        assert_eq!(
            e,
            TopologyError::InvalidZone {
                at: "cluster 0, node node2".into(),
                zone: -3
            }
        );
        let e = err(&variant("\"zone\": 2,", ""));
        assert_eq!(e.to_string(), "cluster 0, node node2: missing key \"zone\"");
        let e = err(&variant("\"zone\": 2,", "\"zone\": \"2\","));
        assert_eq!(
            e.to_string(),
            "cluster 0, node node2: \"zone\" must be an integer"
        );
    }

    #[test]
    fn device_paths_are_checked() {
        for bad in ["sdb", "/", "/dev/sd b", "/dev/sdb;rm", ""] {
            let e = err(&variant("\"/dev/sdb\"", &format!("\"{bad}\"")));
            assert_eq!(
                e,
                TopologyError::InvalidDevicePath {
                    at: "cluster 0, node node1.example.com, device 0".into(),
                    name: bad.into()
                }
            );
        }
        let e = err(&variant("\"/dev/sdb\"", "7"));
        assert!(matches!(e, TopologyError::WrongType { .. }), "{e}");
    }

    #[test]
    fn duplicate_device_on_a_node() {
        let e = err(&variant("\"/dev/sdb\"", "\"/dev/sdc\""));
        assert_eq!(
            e.to_string(),
            "cluster 0, node node1.example.com: device /dev/sdc is listed twice on this node"
        );
    }

    #[test]
    fn duplicate_hostnames_across_nodes_and_clusters() {
        let e = err(&variant("\"10.0.0.2\"", "\"10.0.0.1\""));
        assert_eq!(
            e.to_string(),
            "storage hostname 10.0.0.1 is used by two nodes: cluster 0, node node1.example.com \
             and cluster 0, node node2"
        );
        let other = r#"{"nodes": [{"node": {"hostnames": {"manage": ["node2"], "storage": ["10.9.9.9"]}, "zone": 1}}]}"#;
        let e = err(&variant("{\"nodes\": []}", other));
        assert!(
            matches!(e, TopologyError::DuplicateHostname { kind: "manage", .. }),
            "{e}"
        );
        // manage and storage names are separate namespaces; one node may use one for both.
        let same = r#"{"nodes": [{"node": {"hostnames": {"manage": ["10.0.0.1"], "storage": ["10.9.9.9"]}, "zone": 1}}]}"#;
        assert!(parse_topology(&variant("{\"nodes\": []}", same)).is_ok());
    }

    #[test]
    fn wrong_types_and_missing_keys() {
        assert_eq!(
            err("[]").to_string(),
            "the file: \"the top level\" must be an object"
        );
        assert_eq!(
            err("{}").to_string(),
            "the top level: missing key \"clusters\""
        );
        let e = err(&variant("\"block\": false", "\"block\": \"no\""));
        assert_eq!(e.to_string(), "cluster 0: \"block\" must be true or false");
        let e = err(&variant("{\"nodes\": []}", "{}"));
        assert_eq!(e.to_string(), "cluster 1: missing key \"nodes\"");
        let e = err(&variant("\"destroydata\": true", "\"destroydata\": 1"));
        assert!(
            e.to_string()
                .contains("\"destroydata\" must be true or false"),
            "{e}"
        );
    }

    #[test]
    fn tags_are_checked() {
        let e = err(&variant("{\"rack\": \"a\"}", "{\"ra ck\": \"a\"}"));
        assert!(matches!(e, TopologyError::InvalidTags { .. }), "{e}");
        let e = err(&variant("{\"rack\": \"a\"}", "{\"rack\": 1}"));
        assert_eq!(
            e.to_string(),
            "cluster 0, node node1.example.com: tag \"rack\" must have a string value"
        );
        let long = "x".repeat(65);
        let e = err(&variant(
            "{\"disk\": \"ssd\"}",
            &format!("{{\"disk\": \"{long}\"}}"),
        ));
        assert!(e.to_string().contains("device 1 (/dev/sdc)"), "{e}");
    }

    #[test]
    fn host_rule() {
        for good in [
            "10.0.0.1",
            "::1",
            "node-1.example.com",
            "node_1",
            "host.",
            "a-",
        ] {
            assert!(is_host(good), "{good}");
        }
        for bad in ["", "-a", "a b", "a..b", ".", "x/y"] {
            assert!(!is_host(bad), "{bad}");
        }
    }
}
