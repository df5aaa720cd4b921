//! Request validation with heketi's messages: `validation failed: <field>: <message>; ….`
//! and the handler-level checks of volume create, in heketi's order. Pure functions.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::LazyLock;

use heqet_api::layout::Layout;
use heqet_api::{DeviceAddRequest, NodeAddRequest, Tags, VolumeCreateRequest};
use regex::Regex;

use crate::error::ApiError;

static VOLUME_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-zA-Z0-9_-]+$"));
static DEVICE_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^/[a-zA-Z0-9_.:/-]+$"));
static TAG_KEY: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-zA-Z0-9_.-]+$"));
static DNS_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$")
});
static OPTION_KEY: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"));

fn re(p: &str) -> Regex {
    // The patterns above are constants; a typo is caught by the unit tests.
    Regex::new(p).unwrap_or_else(|e| panic!("bad built-in regex {p}: {e}"))
}

/// Collects `field: message` pairs and renders them as heketi's validation library does.
#[derive(Default)]
pub struct Fields(BTreeMap<String, String>);

impl Fields {
    pub fn add(&mut self, field: &str, msg: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| msg.into());
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        Err(ApiError::Validation(format!("{}.", parts.join("; "))))
    }
}

pub fn is_uuid(s: &str) -> bool {
    heqet_api::id::is_valid_id(s)
}

pub fn is_volume_name(s: &str) -> bool {
    VOLUME_NAME.is_match(s)
}

pub fn is_host(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok() || (s.len() <= 253 && DNS_NAME.is_match(s))
}

pub fn check_tags(f: &mut Fields, field: &str, tags: &Tags) {
    if tags.len() > 32 {
        f.add(
            field,
            format!(
                "too many tags specified ({}), up to 32 supported",
                tags.len()
            ),
        );
        return;
    }
    for (k, v) in tags {
        if k.is_empty() || k.len() > 32 || !TAG_KEY.is_match(k) {
            f.add(field, format!("invalid characters in tag name {k}"));
        } else if v.chars().count() > 64 {
            f.add(field, format!("tag {k} value is longer than 64 characters"));
        }
    }
}

fn check_uuid(f: &mut Fields, field: &str, v: &str) {
    if v.is_empty() {
        f.add(field, "cannot be blank");
    } else if !is_uuid(v) {
        f.add(field, format!("{v} is not a valid UUID"));
    }
}

pub fn node_add(r: &NodeAddRequest) -> Result<(), ApiError> {
    let mut f = Fields::default();
    if r.zone == 0 {
        f.add("zone", "cannot be blank");
    } else if r.zone < 1 {
        f.add("zone", "must be no less than 1");
    }
    check_uuid(&mut f, "cluster", &r.cluster);
    let mut h = Fields::default();
    for (field, list, what) in [
        ("manage", &r.hostnames.manage, "manage"),
        ("storage", &r.hostnames.storage, "storage"),
    ] {
        if list.is_empty() {
            h.add(field, "cannot be blank");
        } else if list.iter().any(|x| !is_host(x)) {
            h.add(
                field,
                format!("[{}] is not a valid {what} hostname", list.join(" ")),
            );
        }
    }
    if let Err(ApiError::Validation(inner)) = h.finish() {
        f.add("hostnames", format!("({})", inner.trim_end_matches('.')));
    }
    check_tags(&mut f, "tags", &r.tags);
    f.finish()
}

pub fn device_add(r: &DeviceAddRequest) -> Result<(), ApiError> {
    let mut f = Fields::default();
    check_uuid(&mut f, "node", &r.node);
    if r.name.is_empty() {
        f.add("name", "cannot be blank");
    } else if !DEVICE_NAME.is_match(&r.name) {
        f.add("name", "must be in a valid format");
    }
    check_tags(&mut f, "tags", &r.tags);
    f.finish()
}

/// A state change request; returns the state asked for.
pub fn state(state: &str, healcheck: &str) -> Result<crate::model::EntryState, ApiError> {
    let mut f = Fields::default();
    if state.is_empty() {
        f.add("state", "cannot be blank");
    } else if !heqet_api::state::is_valid(state) {
        f.add("state", format!("{state} is not valid state"));
    }
    if !matches!(healcheck, "" | "enable" | "disable") {
        f.add("healcheck", "must be a valid value");
    }
    f.finish()?;
    state
        .parse()
        .map_err(|_| ApiError::Validation(format!("state: {state} is not valid state.")))
}

/// A gluster volume option `"<key> <value>"`, checked so it can never be more than one
/// option (heketi pasted these into `bash -c`).
pub fn parse_option(opt: &str) -> Result<(String, String), String> {
    let trimmed = opt.trim();
    let (key, value) = trimmed
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("Invalid volume option {opt:?}: expected \"<key> <value>\""))?;
    let value = value.trim();
    if !OPTION_KEY.is_match(key) {
        return Err(format!(
            "Invalid volume option {opt:?}: the key may contain only letters, digits, '.', '_' and '-'"
        ));
    }
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(format!(
            "Invalid volume option {opt:?}: the value must be non-empty and contain no control characters"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// What a volume create request asks for, after heketi's checks.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumePlan {
    pub layout: Layout,
    pub snapshot_factor: f32,
    /// Options of the request, validated.
    pub options: Vec<(String, String)>,
}

fn option_value<'a>(opts: &'a [(String, String)], key: &str) -> Option<&'a str> {
    opts.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// heketi's synchronous volume create checks 1–7 (cluster and size checks need the store).
pub fn volume_create(r: &VolumeCreateRequest) -> Result<VolumePlan, ApiError> {
    let mut f = Fields::default();
    if r.size == 0 {
        f.add("size", "cannot be blank");
    } else if r.size < 1 {
        f.add("size", "must be no less than 1");
    }
    if !r.name.is_empty() && !is_volume_name(&r.name) {
        f.add("name", "must be in a valid format");
    }
    f.finish()?;
    if r.gid < 0 {
        return Err(ApiError::BadRequest("Bad group id less than zero".into()));
    }
    if r.gid >= 2147483647 {
        return Err(ApiError::BadRequest(
            "Bad group id equal or greater than 2**32".into(),
        ));
    }
    let kind = if r.durability.kind.is_empty() {
        "none"
    } else {
        r.durability.kind.as_str()
    };
    if !matches!(kind, "none" | "replicate" | "disperse") {
        return Err(ApiError::BadRequest("Unknown durability type".into()));
    }
    if r.size < 1 {
        return Err(ApiError::BadRequest("Invalid volume size".into()));
    }
    let factor = if r.snapshot.enable {
        if !(1.0..=100.0).contains(&r.snapshot.factor) {
            return Err(ApiError::BadRequest("Invalid snapshot factor".into()));
        }
        r.snapshot.factor
    } else {
        1.0
    };
    let mut options = Vec::new();
    for o in r
        .glustervolumeoptions
        .iter()
        .filter(|o| !o.trim().is_empty())
    {
        options.push(parse_option(o).map_err(ApiError::BadRequest)?);
    }
    let arbiter = option_value(&options, "user.heketi.arbiter") == Some("true");
    let layout = match kind {
        "replicate" => {
            let replica = r.durability.replicate.replica;
            if !(0..=3).contains(&replica) {
                return Err(ApiError::BadRequest("Invalid replica value".into()));
            }
            let replica = if replica == 0 { 2 } else { replica as u32 };
            if arbiter {
                if replica != 3 {
                    return Err(ApiError::BadRequest(
                        "Arbiter volumes must be replica 3 (option user.heketi.arbiter true)"
                            .into(),
                    ));
                }
                Layout::Arbiter
            } else {
                Layout::Replicate { replica }
            }
        }
        "disperse" => {
            let (d, red) = (r.durability.disperse.data, r.durability.disperse.redundancy);
            if !matches!((d, red), (2, 1) | (4, 2) | (8, 3) | (8, 4)) {
                return Err(ApiError::BadRequest(format!(
                    "Invalid dispersion combination: {d}+{red}"
                )));
            }
            Layout::Disperse {
                data: d as u32,
                redundancy: red as u32,
            }
        }
        _ => Layout::None,
    };
    if arbiter && !matches!(layout, Layout::Arbiter) {
        return Err(ApiError::BadRequest(
            "Arbiter volumes must be replica 3 (option user.heketi.arbiter true)".into(),
        ));
    }
    Ok(VolumePlan {
        layout,
        snapshot_factor: factor,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::{HostAddresses, ReplicaDurability, VolumeDurabilityInfo, VolumeSnapshot};

    fn vreq(kind: &str, replica: i64) -> VolumeCreateRequest {
        VolumeCreateRequest {
            size: 10,
            durability: VolumeDurabilityInfo {
                kind: kind.into(),
                replicate: ReplicaDurability { replica },
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn err(r: Result<VolumePlan, ApiError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn volume_checks_in_heketi_order() {
        let mut r = vreq("replicate", 3);
        r.size = 0;
        assert_eq!(
            err(volume_create(&r)),
            "validation failed: size: cannot be blank."
        );
        let mut r = vreq("replicate", 3);
        r.name = "a.b".into();
        assert_eq!(
            err(volume_create(&r)),
            "validation failed: name: must be in a valid format."
        );
        let mut r = vreq("replicate", 3);
        r.gid = -1;
        assert_eq!(err(volume_create(&r)), "Bad group id less than zero");
        r.gid = 2147483647;
        assert_eq!(
            err(volume_create(&r)),
            "Bad group id equal or greater than 2**32"
        );
        assert_eq!(
            err(volume_create(&vreq("mirror", 3))),
            "Unknown durability type"
        );
        assert_eq!(
            err(volume_create(&vreq("replicate", 4))),
            "Invalid replica value"
        );
        let mut r = vreq("replicate", 3);
        r.snapshot = VolumeSnapshot {
            enable: true,
            factor: 0.5,
        };
        assert_eq!(err(volume_create(&r)), "Invalid snapshot factor");
        assert_eq!(
            err(volume_create(&vreq("disperse", 0))),
            "Invalid dispersion combination: 0+0"
        );
    }

    #[test]
    fn layouts() {
        assert_eq!(
            volume_create(&vreq("replicate", 0)).unwrap().layout,
            Layout::Replicate { replica: 2 }
        );
        assert_eq!(volume_create(&vreq("", 0)).unwrap().layout, Layout::None);
        let mut r = vreq("replicate", 3);
        r.glustervolumeoptions = vec!["".into(), "user.heketi.arbiter true".into()];
        assert_eq!(volume_create(&r).unwrap().layout, Layout::Arbiter);
        r.durability.replicate.replica = 2;
        assert!(volume_create(&r).is_err());
        let mut r = vreq("disperse", 0);
        r.durability.disperse.data = 4;
        r.durability.disperse.redundancy = 2;
        assert_eq!(
            volume_create(&r).unwrap().layout,
            Layout::Disperse {
                data: 4,
                redundancy: 2
            }
        );
    }

    #[test]
    fn hostile_options_are_refused_ordinary_ones_parsed() {
        assert_eq!(
            parse_option("performance.rda-cache-limit 10MB").unwrap(),
            ("performance.rda-cache-limit".into(), "10MB".into())
        );
        assert_eq!(
            parse_option("auth.allow 10.0.0.1,10.0.0.2").unwrap().1,
            "10.0.0.1,10.0.0.2"
        );
        for bad in [
            "novalue",
            "a;rm -rf / x",
            "$(reboot) x",
            "key va\nlue",
            "`x` y",
        ] {
            assert!(parse_option(bad).is_err(), "{bad}");
        }
        // A value with shell syntax is just a string: it travels as one argv element.
        assert_eq!(parse_option("a b; rm -rf /").unwrap().1, "b; rm -rf /");
    }

    #[test]
    fn node_validation_messages() {
        let r = NodeAddRequest {
            zone: 0,
            hostnames: HostAddresses {
                manage: vec![],
                storage: vec!["bad host!".into()],
            },
            cluster: "12ab".into(),
            tags: Default::default(),
        };
        assert_eq!(
            node_add(&r).unwrap_err().to_string(),
            "validation failed: cluster: 12ab is not a valid UUID; hostnames: (manage: cannot be blank; storage: [bad host!] is not a valid storage hostname); zone: cannot be blank."
        );
    }

    #[test]
    fn hosts() {
        for ok in ["10.0.0.1", "::1", "node1.example.com", "gn1", "a_b"] {
            assert!(is_host(ok), "{ok}");
        }
        for bad in ["", "a b", "-x", "x;y"] {
            assert!(!is_host(bad), "{bad}");
        }
    }

    #[test]
    fn device_validation() {
        let mut r = DeviceAddRequest {
            node: "a".repeat(32),
            name: "/dev/sdb".into(),
            ..Default::default()
        };
        assert!(device_add(&r).is_ok());
        r.name = "sdb".into();
        assert_eq!(
            device_add(&r).unwrap_err().to_string(),
            "validation failed: name: must be in a valid format."
        );
        r.name = "/dev/sdb;reboot".into();
        assert!(device_add(&r).is_err());
    }
}
