//! StorageClass parameters and secrets of a CSI CreateVolume, read the way Kubernetes'
//! removed in-tree `kubernetes.io/glusterfs` provisioner read its StorageClass parameters
//! (docs/heketi-api.md §13.1), so a class can move from the in-tree provisioner to heqet-csi by
//! changing only its `provisioner`.
//!
//! Differences from the in-tree reader, all in the direction of refusing what it silently
//! misread: a key given twice in different case, a `restauthenabled` that is neither true nor
//! false, `replicate:1` (gluster refuses replica 1), disperse counts heketi refuses, a
//! non-finite `snapfactor`, and volume options that heketi would paste into a shell.
//!
//! Pure functions: no I/O, no gRPC types.

use std::collections::{BTreeSet, HashMap};

use heqet_api::types::{
    DisperseDurability, ReplicaDurability, VolumeCreateRequest, VolumeDurabilityInfo,
    VolumeSnapshot,
};

/// The gluster user option heqet-csi sets on every volume it creates; its value is the CSI
/// volume name. Volumes without it are never deleted or expanded by heqet-csi.
pub const MARKER_OPTION: &str = "user.heqet-csi.name";

/// Longest gluster volume name heqet-csi makes.
pub const MAX_VOLUME_NAME_LEN: usize = 100;

/// The in-tree provisioner's gid range defaults and bounds (`gidMin`/`gidMax`).
pub const DEFAULT_GID_MIN: u32 = 2000;
pub const DEFAULT_GID_MAX: u32 = 2_147_483_647;
/// heketi refuses `gid >= 2147483647` (docs/heketi-api.md §14.6), so the last gid of the default
/// range can never be handed out.
pub const MAX_HEKETI_GID: u32 = 2_147_483_646;

/// Keys of CSI sidecar parameters (e.g. external-provisioner's `--extra-create-metadata`).
pub const CSI_PREFIX: &str = "csi.storage.k8s.io/";
pub const PVC_NAME_KEY: &str = "csi.storage.k8s.io/pvc/name";
pub const PVC_NAMESPACE_KEY: &str = "csi.storage.k8s.io/pvc/namespace";

/// Secret entries: the user's key (as the in-tree plugin's Secret) and, optionally, the user.
pub const SECRET_KEY: &str = "key";
pub const SECRET_USER: &str = "user";

const GIB: u64 = 1 << 30;

const ACCEPTED: &str = "resturl, restuser, restuserkey, secretName, secretNamespace, \
     restauthenabled, clusterid, volumetype, volumeoptions, volumenameprefix, gidMin, gidMax, \
     snapfactor, customepnameprefix";

/// What is wrong with a CreateVolume's parameters. Messages never contain secret values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error(
        "unknown StorageClass parameter {key:?}: accepted are {ACCEPTED} (compared \
         case-insensitively) and keys starting with {CSI_PREFIX}"
    )]
    UnknownParameter { key: String },
    #[error(
        "StorageClass parameters {first:?} and {second:?} are the same parameter (keys are \
         compared case-insensitively): give it once"
    )]
    DuplicateParameter { first: String, second: String },
    #[error(
        "resturl {value:?} is not usable: {reason}; expected http://host[:port][/path] or \
         https://host[:port][/path]"
    )]
    InvalidUrl { value: String, reason: String },
    #[error("StorageClass parameter {key}: {value:?} is not a boolean; expected true or false")]
    InvalidBool { key: String, value: String },
    #[error(
        "StorageClass parameter clusterid: {id:?} is not a heketi cluster id; expected a \
         comma-separated list of ids of 32 lowercase hexadecimal characters"
    )]
    InvalidClusterId { id: String },
    #[error(
        "StorageClass parameter volumetype: {value:?} {reason}; expected replicate:N with N 2 \
         or 3 (replicate alone means 3), disperse:D:R with D:R one of 2:1, 4:2, 8:3, 8:4, or \
         none"
    )]
    InvalidVolumeType { value: String, reason: String },
    #[error(
        "StorageClass parameter volumeoptions: entry {entry:?} {reason}; expected \
         comma-separated \"<key> <value>\" entries, e.g. \"performance.quick-read off, \
         client.ssl on\", keys of letters, digits, '.', '_' and '-'"
    )]
    InvalidVolumeOption { entry: String, reason: String },
    #[error(
        "StorageClass parameter volumenameprefix: {value:?} may contain only letters, digits \
         and '-' ('_' separates the parts of the volume name)"
    )]
    InvalidNamePrefix { value: String },
    #[error(
        "StorageClass parameter {key}: {value:?} {reason}; expected an integer from \
         {DEFAULT_GID_MIN} to {DEFAULT_GID_MAX}"
    )]
    InvalidGid {
        key: String,
        value: String,
        reason: String,
    },
    #[error(
        "StorageClass parameters gidMin ({min}) and gidMax ({max}): gidMin must not be greater \
         than gidMax"
    )]
    GidRange { min: u32, max: u32 },
    #[error("StorageClass parameter snapfactor: {value:?} is not a number from 1 to 100")]
    InvalidSnapFactor { value: String },
    #[error(
        "StorageClass parameters secretName ({name:?}) and secretNamespace ({namespace:?}) must \
         be both set or both empty"
    )]
    IncompleteSecretRef { name: String, namespace: String },
    #[error(
        "volume name {name:?} {reason}; expected 1 to {MAX_VOLUME_NAME_LEN} characters from \
         letters, digits, '.', '_' and '-'"
    )]
    InvalidVolumeName { name: String, reason: String },
    #[error(
        "StorageClass parameter volumenameprefix: {prefix:?} is too long for volume name \
         {name:?}: \"{prefix}_{name}\" would be longer than {MAX_VOLUME_NAME_LEN} characters"
    )]
    NamePrefixTooLong { prefix: String, name: String },
    #[error("capacity_range.{field} is {value}; it must not be negative")]
    NegativeCapacity { field: &'static str, value: i64 },
    /// The range holds no size heketi can make. CSI wants OUT_OF_RANGE for this, not
    /// INVALID_ARGUMENT.
    #[error(
        "capacity_range (required_bytes {required}, limit_bytes {limit}) contains no whole GiB \
         of at least 1 GiB; heketi sizes volumes in whole GiB"
    )]
    CapacityOutOfRange { required: i64, limit: i64 },
}

/// Which REST server a call goes to and with which credentials; `None` = not given here
/// (the controller's defaults apply).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RestTarget {
    pub url: Option<String>,
    pub user: Option<String>,
    pub key: Option<String>,
}

// By hand, so the key never reaches a log through `{:?}`.
impl std::fmt::Debug for RestTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestTarget")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A CreateVolume's parameters, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateParams {
    pub rest: RestTarget,
    /// `clusterid`: empty = any cluster.
    pub clusters: Vec<String>,
    pub durability: VolumeDurabilityInfo,
    /// Normalized `"<key> <value>"` entries.
    pub volume_options: Vec<String>,
    pub name_prefix: Option<String>,
    /// (namespace, name) of the PVC, when the sidecar passed them.
    pub pvc: Option<(String, String)>,
    pub gid_range: (u32, u32),
    pub snap_factor: f64,
}

/// Reads a CreateVolume's `parameters` and `secrets`.
pub fn parse_create(
    params: &HashMap<String, String>,
    secrets: &HashMap<String, String>,
) -> Result<CreateParams, ParamError> {
    // Sorted, so which error a bad class gets does not depend on hash order.
    let mut entries: Vec<(&String, &String)> = params.iter().collect();
    entries.sort();

    let mut seen: HashMap<String, &str> = HashMap::new();
    let mut url = None;
    let mut user = None;
    let mut user_key = None;
    let mut secret_name = String::new();
    let mut secret_namespace = String::new();
    let mut auth_enabled = true;
    let mut clusters = Vec::new();
    let mut durability = default_durability();
    let mut volume_options = Vec::new();
    let mut name_prefix = None;
    let mut gid_min = DEFAULT_GID_MIN;
    let mut gid_max = DEFAULT_GID_MAX;
    let mut snap_factor = 1.0;
    let mut pvc_name = None;
    let mut pvc_namespace = None;

    for (key, value) in entries {
        let lower = key.to_ascii_lowercase();
        if let Some(first) = seen.insert(lower.clone(), key) {
            return Err(ParamError::DuplicateParameter {
                first: first.to_string(),
                second: key.clone(),
            });
        }
        let v = value.trim();
        if lower.starts_with(CSI_PREFIX) {
            match lower.as_str() {
                PVC_NAME_KEY => pvc_name = non_empty(v),
                PVC_NAMESPACE_KEY => pvc_namespace = non_empty(v),
                _ => {}
            }
            continue;
        }
        // As in-tree, an empty value means "not given".
        if v.is_empty() && lower != "restuserkey" {
            if !is_known(&lower) {
                return Err(ParamError::UnknownParameter { key: key.clone() });
            }
            continue;
        }
        match lower.as_str() {
            "resturl" => url = Some(normalize_rest_url(v)?),
            "restuser" => user = Some(v.to_string()),
            // Not trimmed: it is a secret, used byte for byte.
            "restuserkey" => user_key = (!value.is_empty()).then(|| value.clone()),
            "secretname" => secret_name = v.to_string(),
            "secretnamespace" => secret_namespace = v.to_string(),
            "restauthenabled" => auth_enabled = parse_bool(key, v)?,
            "clusterid" => clusters = parse_cluster_ids(v)?,
            "volumetype" => durability = parse_volume_type(v)?,
            "volumeoptions" => volume_options = parse_volume_options(v)?,
            "volumenameprefix" => name_prefix = Some(parse_name_prefix(v)?),
            "gidmin" => gid_min = parse_gid(key, v)?,
            "gidmax" => gid_max = parse_gid(key, v)?,
            "snapfactor" => snap_factor = parse_snap_factor(v)?,
            // Only named the Endpoints object of in-tree PVs; nothing to do with it here.
            "customepnameprefix" => {}
            _ => return Err(ParamError::UnknownParameter { key: key.clone() }),
        }
    }

    // The sidecar resolves secrets; the pair is checked only so a class that in-tree
    // refused is refused here too (in-tree cleared both first when auth was off).
    if auth_enabled && secret_name.is_empty() != secret_namespace.is_empty() {
        return Err(ParamError::IncompleteSecretRef {
            name: secret_name,
            namespace: secret_namespace,
        });
    }
    if gid_min > gid_max {
        return Err(ParamError::GidRange {
            min: gid_min,
            max: gid_max,
        });
    }

    let from_secrets = rest_from_secrets(secrets);
    let rest = if auth_enabled {
        RestTarget {
            url,
            user: from_secrets.user.or(user),
            key: from_secrets.key.or(user_key),
        }
    } else {
        // In-tree: restauthenabled=false drops every credential.
        RestTarget {
            url,
            user: None,
            key: None,
        }
    };

    Ok(CreateParams {
        rest,
        clusters,
        durability,
        volume_options,
        name_prefix,
        pvc: pvc_namespace.zip(pvc_name),
        gid_range: (gid_min, gid_max),
        snap_factor,
    })
}

/// Credentials from a request's `secrets` (DeleteVolume and ControllerExpandVolume get no
/// parameters): the key under `key`, else the only entry that is not `user` (in-tree took
/// "the Secret's key entry, else any entry"; with several candidates none is guessed).
pub fn rest_from_secrets(secrets: &HashMap<String, String>) -> RestTarget {
    let key = match secrets.get(SECRET_KEY) {
        Some(k) => Some(k.clone()),
        None => {
            let mut others = secrets.iter().filter(|(k, _)| k.as_str() != SECRET_USER);
            match (others.next(), others.next()) {
                (Some((_, v)), None) => Some(v.clone()),
                _ => None,
            }
        }
    }
    .filter(|k| !k.is_empty());
    let user = secrets
        .get(SECRET_USER)
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    RestTarget {
        url: None,
        user,
        key,
    }
}

fn is_known(lower: &str) -> bool {
    matches!(
        lower,
        "resturl"
            | "restuser"
            | "restuserkey"
            | "secretname"
            | "secretnamespace"
            | "restauthenabled"
            | "clusterid"
            | "volumetype"
            | "volumeoptions"
            | "volumenameprefix"
            | "gidmin"
            | "gidmax"
            | "snapfactor"
            | "customepnameprefix"
    )
}

fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

fn default_durability() -> VolumeDurabilityInfo {
    replicate(3)
}

fn replicate(replica: i64) -> VolumeDurabilityInfo {
    VolumeDurabilityInfo {
        kind: "replicate".into(),
        replicate: ReplicaDurability { replica },
        disperse: DisperseDurability::default(),
    }
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ParamError> {
    // In-tree treated anything but "true" as false; a typo must not switch auth off.
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ParamError::InvalidBool {
            key: key.to_string(),
            value: v.to_string(),
        }),
    }
}

fn is_heketi_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn parse_cluster_ids(v: &str) -> Result<Vec<String>, ParamError> {
    let mut ids: Vec<String> = Vec::new();
    for id in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !is_heketi_id(id) {
            return Err(ParamError::InvalidClusterId { id: id.to_string() });
        }
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

fn parse_count(value: &str, part: &str, what: &str) -> Result<i64, ParamError> {
    part.parse::<u8>()
        .map(i64::from)
        .map_err(|_| ParamError::InvalidVolumeType {
            value: value.to_string(),
            reason: format!("has {what} {part:?}, which is not a small whole number"),
        })
}

fn parse_volume_type(v: &str) -> Result<VolumeDurabilityInfo, ParamError> {
    let bad = |reason: &str| ParamError::InvalidVolumeType {
        value: v.to_string(),
        reason: reason.to_string(),
    };
    let parts: Vec<&str> = v.split(':').collect();
    match parts.as_slice() {
        ["replicate"] => Ok(default_durability()),
        ["replicate", n] => match parse_count(v, n, "replica count")? {
            // heketi would accept 1, but `gluster volume create … replica 1` fails on the node
            // after the bricks were made.
            1 => Err(bad("asks for replica 1, which gluster refuses (use none)")),
            n @ 2..=3 => Ok(replicate(n)),
            _ => Err(bad("has a replica count heketi refuses (at most 3)")),
        },
        ["disperse", d, r] => {
            let data = parse_count(v, d, "data count")?;
            let redundancy = parse_count(v, r, "redundancy count")?;
            // heketi accepts exactly these combinations (docs/heketi-api.md §9.1, check 7).
            if !matches!((data, redundancy), (2, 1) | (4, 2) | (8, 3) | (8, 4)) {
                return Err(bad("is a combination heketi refuses"));
            }
            Ok(VolumeDurabilityInfo {
                kind: "disperse".into(),
                replicate: ReplicaDurability::default(),
                disperse: DisperseDurability { data, redundancy },
            })
        }
        ["disperse", ..] => Err(bad("needs data and redundancy counts")),
        ["none"] => Ok(VolumeDurabilityInfo {
            kind: "none".into(),
            ..VolumeDurabilityInfo::default()
        }),
        ["replicate" | "none", ..] => Err(bad("has too many ':' fields")),
        _ => Err(bad("is not a volume type")),
    }
}

fn is_option_key(k: &str) -> bool {
    let mut b = k.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphanumeric())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// One `"<key> <value>"` volume option, normalized to a single space; the same rule as heqet's
/// server, because heketi pastes options into a `bash -c` command on the storage node.
fn parse_volume_option(entry: &str) -> Result<String, ParamError> {
    let bad = |reason: &str| ParamError::InvalidVolumeOption {
        entry: entry.to_string(),
        reason: reason.to_string(),
    };
    let (key, value) = entry
        .split_once(char::is_whitespace)
        .ok_or_else(|| bad("has no value"))?;
    let value = value.trim();
    if !is_option_key(key) {
        return Err(bad(
            "has a key with characters other than letters, digits, '.', '_' and '-'",
        ));
    }
    if value.is_empty() {
        return Err(bad("has no value"));
    }
    if value.chars().any(char::is_control) {
        return Err(bad("has control characters in its value"));
    }
    if key == MARKER_OPTION {
        return Err(bad(
            "sets the option heqet-csi reserves to mark its own volumes",
        ));
    }
    Ok(format!("{key} {value}"))
}

fn parse_volume_options(v: &str) -> Result<Vec<String>, ParamError> {
    v.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(parse_volume_option)
        .collect()
}

fn parse_name_prefix(v: &str) -> Result<String, ParamError> {
    if v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(v.to_string())
    } else {
        Err(ParamError::InvalidNamePrefix {
            value: v.to_string(),
        })
    }
}

fn parse_gid(key: &str, v: &str) -> Result<u32, ParamError> {
    let bad = |reason: &str| ParamError::InvalidGid {
        key: key.to_string(),
        value: v.to_string(),
        reason: reason.to_string(),
    };
    let gid: u64 = v.parse().map_err(|_| bad("is not a whole number"))?;
    if gid < u64::from(DEFAULT_GID_MIN) {
        return Err(bad("is too small"));
    }
    u32::try_from(gid)
        .ok()
        .filter(|g| *g <= DEFAULT_GID_MAX)
        .ok_or_else(|| bad("is too large"))
}

fn parse_snap_factor(v: &str) -> Result<f64, ParamError> {
    // `str::parse` also accepts "NaN" and "inf"; the range check must not let NaN through.
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() && (1.0..=100.0).contains(&f) => Ok(f),
        _ => Err(ParamError::InvalidSnapFactor {
            value: v.to_string(),
        }),
    }
}

/// A REST server URL in the one spelling heqet-csi compares and stores: lowercase scheme
/// (http or https) and host, no trailing slash, no credentials, query or fragment.
pub fn normalize_rest_url(raw: &str) -> Result<String, ParamError> {
    let bad = |reason: &str| ParamError::InvalidUrl {
        value: raw.to_string(),
        reason: reason.to_string(),
    };
    let s = raw.trim();
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    if !s.is_ascii() {
        return Err(bad(
            "it has non-ASCII characters (write international host names in punycode)",
        ));
    }
    if s.bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(bad("it has whitespace or control characters"));
    }
    let (scheme, rest) = s.split_once("://").ok_or_else(|| bad("it has no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("it has a query or fragment"));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        // They would end up in volume ids and PV objects.
        return Err(bad(
            "it has credentials; give them as restuser/restuserkey or in the secret",
        ));
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (addr, after) = inner
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address has no closing ']'"))?;
        if addr.is_empty()
            || !addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(bad("the IPv6 address is malformed"));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| bad("there is text after the IPv6 address"))?,
            ),
        };
        (format!("[{}]", addr.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let host_ok = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if host.is_empty() {
            return Err(bad("it has no host"));
        }
        if !host_ok {
            return Err(bad(
                "the host has characters other than letters, digits, '.', '-' and '_'",
            ));
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => String::new(),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => format!(":{n}"),
            _ => return Err(bad("the port is not a number from 1 to 65535")),
        },
    };
    // RFC 3986 path characters only: the client appends heketi's routes to this.
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~%!$&'()*+,;=:@".contains(&b));
    if !path_ok {
        return Err(bad(
            "the path has characters that are not allowed in a URL path",
        ));
    }
    Ok(format!(
        "{scheme}://{host}{port}{}",
        path.trim_end_matches('/')
    ))
}

/// Characters a CSI name may have. Narrow on purpose: the name is also the value of the
/// marker option, which heketi pastes into a shell command on the storage node.
fn check_csi_name(name: &str) -> Result<(), ParamError> {
    let bad = |reason: &str| ParamError::InvalidVolumeName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("is empty"));
    }
    if name.len() > MAX_VOLUME_NAME_LEN {
        return Err(bad("is too long"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(bad("has characters that are not allowed"));
    }
    Ok(())
}

/// heketi's volume-name alphabet is `[a-zA-Z0-9_-]`; anything else becomes `-`. The result is
/// ASCII, one byte per input character, so it can be cut at any byte.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The gluster volume name for the CSI volume `csi_name`: a pure function of the parameters
/// and the name, because retries find an earlier create by this name.
///
/// Without `volumenameprefix` it is the CSI name; with it `<prefix>_<namespace>_<pvc>_<csi
/// name>` (in-tree's shape, the CSI name in place of its random uuid) when the PVC is known,
/// else `<prefix>_<csi name>`. Names stay within [`MAX_VOLUME_NAME_LEN`] by cutting the
/// namespace/PVC part; the CSI name stays whole at the end and keeps names unique.
pub fn gluster_volume_name(p: &CreateParams, csi_name: &str) -> Result<String, ParamError> {
    check_csi_name(csi_name)?;
    let csi = sanitize(csi_name);
    let Some(prefix) = p.name_prefix.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(csi);
    };
    let head = prefix.len() + 1 + csi.len();
    if head > MAX_VOLUME_NAME_LEN {
        return Err(ParamError::NamePrefixTooLong {
            prefix: prefix.to_string(),
            name: csi_name.to_string(),
        });
    }
    if let Some((namespace, pvc)) = &p.pvc {
        let middle = format!("{}_{}", sanitize(namespace), sanitize(pvc));
        // One more '_' joins the middle part to the CSI name.
        let room = (MAX_VOLUME_NAME_LEN - head).saturating_sub(1);
        let middle = middle[..middle.len().min(room)].trim_end_matches(['_', '-']);
        if !middle.is_empty() {
            return Ok(format!("{prefix}_{middle}_{csi}"));
        }
    }
    Ok(format!("{prefix}_{csi}"))
}

/// The body of the `POST /volumes` for a create: the class's settings plus the marker option.
/// Snapshots are enabled with the class's factor, as in-tree did (with factor 1 the thin pool
/// is exactly the volume size).
pub fn create_request(
    p: &CreateParams,
    volume_name: &str,
    csi_name: &str,
    size_gib: u64,
    gid: u32,
) -> VolumeCreateRequest {
    let mut options = p.volume_options.clone();
    options.push(marker_option(csi_name));
    VolumeCreateRequest {
        size: i64::try_from(size_gib).unwrap_or(i64::MAX),
        clusters: p.clusters.clone(),
        name: volume_name.to_string(),
        durability: p.durability.clone(),
        gid: i64::from(gid),
        glustervolumeoptions: options,
        block: false,
        snapshot: VolumeSnapshot {
            enable: true,
            factor: p.snap_factor as f32,
        },
    }
}

/// CSI CapacityRange → heketi GiB. 0/0 (no preference) is 1 GiB; a required size rounds up
/// to whole GiB; a limit alone gives the largest whole GiB within it.
pub fn capacity_gib(required_bytes: i64, limit_bytes: i64) -> Result<u64, ParamError> {
    if required_bytes < 0 {
        return Err(ParamError::NegativeCapacity {
            field: "required_bytes",
            value: required_bytes,
        });
    }
    if limit_bytes < 0 {
        return Err(ParamError::NegativeCapacity {
            field: "limit_bytes",
            value: limit_bytes,
        });
    }
    let out_of_range = ParamError::CapacityOutOfRange {
        required: required_bytes,
        limit: limit_bytes,
    };
    let (required, limit) = (required_bytes as u64, limit_bytes as u64);
    let gib = match (required, limit) {
        (0, 0) => 1,
        (0, l) => l / GIB,
        // Cannot overflow: required ≤ i64::MAX.
        (r, _) => r.div_ceil(GIB),
    };
    if gib == 0 || (limit != 0 && gib * GIB > limit) {
        return Err(out_of_range);
    }
    Ok(gib)
}

/// `replicate:3`, `disperse:4:2`, `none`: the volumetype spelling, for messages and the
/// volume context.
pub fn durability_label(d: &VolumeDurabilityInfo) -> String {
    match d.kind.as_str() {
        "replicate" => format!("replicate:{}", d.replicate.replica),
        "disperse" => format!("disperse:{}:{}", d.disperse.data, d.disperse.redundancy),
        // heketi treats an empty type as none.
        "" | "none" => "none".to_string(),
        other => other.to_string(),
    }
}

/// The option marking a volume as made by heqet-csi for the CSI volume `csi_name`.
pub fn marker_option(csi_name: &str) -> String {
    format!("{MARKER_OPTION} {csi_name}")
}

/// The CSI name in a volume's stored option list (`glustervolumeoptions`), if heqet-csi made
/// it. The last setting wins, as when gluster applied them in order.
pub fn marker_of(glustervolumeoptions: &[String]) -> Option<&str> {
    glustervolumeoptions.iter().rev().find_map(|o| {
        let (key, value) = o.trim().split_once(char::is_whitespace)?;
        let value = value.trim();
        (key == MARKER_OPTION && !value.is_empty()).then_some(value)
    })
}

/// The lowest gid in `[min, max]` that is not in `used` and that heketi accepts.
pub fn pick_gid(used: &BTreeSet<u32>, min: u32, max: u32) -> Option<u32> {
    let max = max.min(MAX_HEKETI_GID);
    if min > max {
        return None;
    }
    let mut candidate = min;
    for &g in used.range(min..=max) {
        if g != candidate {
            break;
        }
        // g == candidate ≤ max ≤ MAX_HEKETI_GID < u32::MAX: no overflow.
        candidate = g + 1;
    }
    (candidate <= max).then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C1: &str = "67e267ea403dfcdf80731165b300d1ca";
    const C2: &str = "0123456789abcdef0123456789abcdef";

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<CreateParams, ParamError> {
        parse_create(&map(pairs), &HashMap::new())
    }

    fn ok(pairs: &[(&str, &str)]) -> CreateParams {
        match parse(pairs) {
            Ok(p) => p,
            Err(e) => panic!("{pairs:?}: {e}"),
        }
    }

    fn err(pairs: &[(&str, &str)]) -> ParamError {
        match parse(pairs) {
            Ok(p) => panic!("{pairs:?} was accepted: {p:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults_of_an_empty_class() {
        let p = ok(&[]);
        assert_eq!(p.rest, RestTarget::default());
        assert!(p.clusters.is_empty());
        assert_eq!(p.durability, replicate(3));
        assert!(p.volume_options.is_empty());
        assert_eq!(p.name_prefix, None);
        assert_eq!(p.pvc, None);
        assert_eq!(p.gid_range, (2000, 2147483647));
        assert_eq!(p.snap_factor, 1.0);
    }

    #[test]
    fn a_full_in_tree_class() {
        let p = ok(&[
            ("resturl", "http://heketi.storage:8080/"),
            ("restuser", "admin"),
            ("restuserkey", "s3cret"),
            ("clusterid", &format!(" {C1} ,, {C2},{C1}")),
            ("volumetype", "disperse:4:2"),
            (
                "volumeoptions",
                "performance.quick-read off,  client.ssl   on ,",
            ),
            ("volumenameprefix", "team-a"),
            ("gidMin", "40000"),
            ("gidMax", "50000"),
            ("snapfactor", "1.5"),
            ("customepnameprefix", "whatever"),
        ]);
        assert_eq!(p.rest.url.as_deref(), Some("http://heketi.storage:8080"));
        assert_eq!(p.rest.user.as_deref(), Some("admin"));
        assert_eq!(p.rest.key.as_deref(), Some("s3cret"));
        assert_eq!(p.clusters, vec![C1.to_string(), C2.to_string()]);
        assert_eq!(durability_label(&p.durability), "disperse:4:2");
        assert_eq!(
            p.volume_options,
            vec!["performance.quick-read off", "client.ssl on"]
        );
        assert_eq!(p.name_prefix.as_deref(), Some("team-a"));
        assert_eq!(p.gid_range, (40000, 50000));
        assert_eq!(p.snap_factor, 1.5);
    }

    #[test]
    fn keys_are_case_insensitive_but_not_twice() {
        let p = ok(&[("RestURL", "http://h:8080"), ("GIDMIN", "3000")]);
        assert_eq!(p.rest.url.as_deref(), Some("http://h:8080"));
        assert_eq!(p.gid_range.0, 3000);
        let e = err(&[("resturl", "http://a"), ("restURL", "http://b")]);
        assert!(matches!(e, ParamError::DuplicateParameter { .. }), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors_and_do_not_show_their_value() {
        let e = err(&[("restuserky", "TOP-SECRET")]);
        assert_eq!(
            e,
            ParamError::UnknownParameter {
                key: "restuserky".into()
            }
        );
        assert!(!e.to_string().contains("TOP-SECRET"));
        assert!(
            e.to_string().contains("restuserkey"),
            "lists what is accepted"
        );
        // Also with an empty value.
        assert!(matches!(
            err(&[("endpoint", "")]),
            ParamError::UnknownParameter { .. }
        ));
    }

    #[test]
    fn csi_sidecar_keys_are_accepted_and_the_pvc_is_taken() {
        let p = ok(&[
            ("csi.storage.k8s.io/pvc/name", "data"),
            ("csi.storage.k8s.io/pvc/namespace", "shop"),
            ("csi.storage.k8s.io/pv/name", "pvc-1"),
            ("csi.storage.k8s.io/anything-else", "x"),
        ]);
        assert_eq!(p.pvc, Some(("shop".into(), "data".into())));
        // Only one of the two: no PVC.
        assert_eq!(ok(&[("csi.storage.k8s.io/pvc/name", "data")]).pvc, None);
    }

    #[test]
    fn empty_values_mean_not_given() {
        let p = ok(&[
            ("resturl", ""),
            ("clusterid", ""),
            ("volumetype", " "),
            ("volumeoptions", ""),
            ("volumenameprefix", ""),
            ("snapfactor", ""),
            ("gidmin", ""),
            ("restauthenabled", ""),
            ("restuserkey", ""),
        ]);
        assert_eq!(p, ok(&[]));
    }

    #[test]
    fn rest_urls_are_normalized() {
        for (given, want) in [
            ("http://h:8080", "http://h:8080"),
            ("HTTPS://Heketi.Example.COM/", "https://heketi.example.com"),
            (" http://h:8080/api/heketi// ", "http://h:8080/api/heketi"),
            ("http://10.0.0.1:08080", "http://10.0.0.1:8080"),
            ("http://[FE80::1]:8080/", "http://[fe80::1]:8080"),
            ("http://heketi_svc.ns", "http://heketi_svc.ns"),
            // Surrounding whitespace (a YAML block scalar's newline) is not part of it.
            ("http://h\n", "http://h"),
        ] {
            assert_eq!(normalize_rest_url(given).as_deref(), Ok(want), "{given}");
        }
        for bad in [
            "",
            "h:8080",
            "ftp://h",
            "http://",
            "http://:8080",
            "http://h:0",
            "http://h:65536",
            "http://h:80a",
            "http://h:",
            "http://user:pw@h",
            "http://h/x?y=1",
            "http://h/#f",
            "http://h x",
            "http://hé",
            "http://h/a b",
            "http://h/a\"b",
            "http://[::1",
            "http://[]",
            "http://[::1]x",
            "http://h!st",
        ] {
            match normalize_rest_url(bad) {
                Err(ParamError::InvalidUrl { value, .. }) => assert_eq!(value, bad),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(matches!(
            parse(&[("resturl", "heketi:8080")]),
            Err(ParamError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn credentials_from_secrets_win_over_parameters() {
        let params = map(&[("restuser", "admin"), ("restuserkey", "param-key")]);
        let p = parse_create(&params, &map(&[("key", "secret-key")])).unwrap();
        assert_eq!(p.rest.key.as_deref(), Some("secret-key"));
        assert_eq!(p.rest.user.as_deref(), Some("admin"));
        let p = parse_create(&params, &map(&[("key", "k"), ("user", "ops")])).unwrap();
        assert_eq!(p.rest.user.as_deref(), Some("ops"));
        let p = parse_create(&params, &HashMap::new()).unwrap();
        assert_eq!(p.rest.key.as_deref(), Some("param-key"));
    }

    #[test]
    fn restauthenabled_false_drops_every_credential() {
        let p = parse_create(
            &map(&[
                ("restuser", "admin"),
                ("restuserkey", "k"),
                ("restauthenabled", "FALSE"),
                ("resturl", "http://h"),
            ]),
            &map(&[("key", "k2"), ("user", "u")]),
        )
        .unwrap();
        assert_eq!(
            p.rest,
            RestTarget {
                url: Some("http://h".into()),
                user: None,
                key: None
            }
        );
        assert!(ok(&[("restauthenabled", "True"), ("restuserkey", "k")])
            .rest
            .key
            .is_some());
        assert!(matches!(
            err(&[("restauthenabled", "ture")]),
            ParamError::InvalidBool { .. }
        ));
    }

    #[test]
    fn secret_reference_must_be_complete() {
        ok(&[("secretName", "heketi"), ("secretNamespace", "kube-system")]);
        assert_eq!(
            err(&[("secretName", "heketi")]),
            ParamError::IncompleteSecretRef {
                name: "heketi".into(),
                namespace: String::new()
            }
        );
        assert!(matches!(
            err(&[("secretnamespace", "x")]),
            ParamError::IncompleteSecretRef { .. }
        ));
        ok(&[("secretName", "heketi"), ("restauthenabled", "false")]);
    }

    #[test]
    fn rest_from_secrets_rules() {
        let r = rest_from_secrets(&map(&[("key", "k"), ("user", "admin"), ("other", "o")]));
        assert_eq!(r.key.as_deref(), Some("k"));
        assert_eq!(r.user.as_deref(), Some("admin"));
        assert_eq!(r.url, None);
        // The only entry, whatever its name (in-tree: "else any entry").
        assert_eq!(
            rest_from_secrets(&map(&[("adminkey", "k")])).key.as_deref(),
            Some("k")
        );
        assert_eq!(
            rest_from_secrets(&map(&[("adminkey", "k"), ("user", "u")]))
                .key
                .as_deref(),
            Some("k")
        );
        // The user is never taken for the key; several candidates: no guess.
        assert_eq!(rest_from_secrets(&map(&[("user", "u")])).key, None);
        assert_eq!(rest_from_secrets(&map(&[("a", "1"), ("b", "2")])).key, None);
        assert_eq!(rest_from_secrets(&HashMap::new()), RestTarget::default());
        assert_eq!(rest_from_secrets(&map(&[("key", "")])).key, None);
    }

    #[test]
    fn debug_output_hides_the_key() {
        let r = RestTarget {
            url: Some("http://h".into()),
            user: Some("admin".into()),
            key: Some("TOP-SECRET".into()),
        };
        let p = CreateParams {
            rest: r.clone(),
            ..ok(&[])
        };
        for s in [format!("{r:?}"), format!("{p:?}")] {
            assert!(!s.contains("TOP-SECRET"), "{s}");
            assert!(s.contains("redacted"), "{s}");
        }
    }

    #[test]
    fn cluster_ids() {
        for bad in [
            "67E267EA403DFCDF80731165B300D1CA",
            "67e267ea403dfcdf80731165b300d1c",
            "67e267ea403dfcdf80731165b300d1caa",
            "67e267ea-403d-fcdf-8073-1165b300d1ca",
            "g7e267ea403dfcdf80731165b300d1ca",
        ] {
            assert_eq!(
                err(&[("clusterid", &format!("{C1},{bad}"))]),
                ParamError::InvalidClusterId { id: bad.into() }
            );
        }
    }

    #[test]
    fn volume_types() {
        for (given, want) in [
            ("replicate", "replicate:3"),
            ("replicate:2", "replicate:2"),
            ("replicate:3", "replicate:3"),
            ("disperse:2:1", "disperse:2:1"),
            ("disperse:8:3", "disperse:8:3"),
            ("disperse:8:4", "disperse:8:4"),
            ("none", "none"),
        ] {
            assert_eq!(
                durability_label(&ok(&[("volumetype", given)]).durability),
                want
            );
        }
        let none = ok(&[("volumetype", "none")]).durability;
        assert_eq!(none.kind, "none");
        assert_eq!(none.replicate.replica, 0);
        for bad in [
            "replicate:1",
            "replicate:0",
            "replicate:4",
            "replicate:",
            "replicate:-1",
            "replicate:three",
            "replicate:3:1",
            "disperse",
            "disperse:4",
            "disperse:4:3",
            "disperse:0:0",
            "disperse:4:2:1",
            "disperse:x:2",
            "none:1",
            "Replicate:3",
            "mirror",
            ":",
        ] {
            match parse(&[("volumetype", bad)]) {
                Err(ParamError::InvalidVolumeType { value, .. }) => assert_eq!(value, bad),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn volume_options_are_checked() {
        for bad in [
            "performance.quick-read",
            "-x on",
            "bad$key on",
            "key on\u{7}",
            "user.heqet-csi.name pvc-1",
        ] {
            match parse(&[("volumeoptions", &format!("client.ssl on,{bad}"))]) {
                Err(ParamError::InvalidVolumeOption { entry, .. }) => assert_eq!(entry, bad),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        // A value may hold spaces (gluster options such as auth.ssl-allow take lists).
        assert_eq!(
            ok(&[("volumeoptions", "user.note a b  c")]).volume_options,
            vec!["user.note a b  c"]
        );
    }

    #[test]
    fn name_prefixes() {
        ok(&[("volumenameprefix", "Team-1")]);
        for bad in ["team_a", "team.a", "team a", "tëam"] {
            assert_eq!(
                err(&[("volumenameprefix", bad)]),
                ParamError::InvalidNamePrefix { value: bad.into() }
            );
        }
    }

    #[test]
    fn gid_bounds() {
        assert_eq!(
            ok(&[("gidMin", "2000"), ("gidMax", "2147483647")]).gid_range,
            (2000, 2147483647)
        );
        assert_eq!(
            ok(&[("gidMin", "5000"), ("gidMax", "5000")]).gid_range,
            (5000, 5000)
        );
        for (k, v) in [
            ("gidMin", "1999"),
            ("gidMax", "2147483648"),
            ("gidMin", "-1"),
            ("gidMax", "4294967296"),
            ("gidMin", "2e3"),
            ("gidMin", "abc"),
        ] {
            match parse(&[(k, v)]) {
                Err(ParamError::InvalidGid { key, value, .. }) => {
                    assert_eq!((key.as_str(), value.as_str()), (k, v))
                }
                other => panic!("{k}={v}: {other:?}"),
            }
        }
        assert_eq!(
            err(&[("gidMin", "6000"), ("gidMax", "5000")]),
            ParamError::GidRange {
                min: 6000,
                max: 5000
            }
        );
        // Accepted as in-tree, although pick_gid can then find nothing heketi takes.
        assert_eq!(
            ok(&[("gidMin", "2147483647")]).gid_range,
            (2147483647, 2147483647)
        );
    }

    #[test]
    fn snap_factors() {
        assert_eq!(ok(&[("snapfactor", "1")]).snap_factor, 1.0);
        assert_eq!(ok(&[("snapfactor", "100")]).snap_factor, 100.0);
        assert_eq!(ok(&[("snapfactor", "2.5")]).snap_factor, 2.5);
        for bad in ["0.99", "100.01", "0", "-2", "NaN", "inf", "x", "1,5"] {
            assert_eq!(
                err(&[("snapfactor", bad)]),
                ParamError::InvalidSnapFactor { value: bad.into() }
            );
        }
    }

    fn with_prefix(prefix: Option<&str>, pvc: Option<(&str, &str)>) -> CreateParams {
        CreateParams {
            name_prefix: prefix.map(str::to_string),
            pvc: pvc.map(|(n, p)| (n.to_string(), p.to_string())),
            ..ok(&[])
        }
    }

    const PVC_NAME: &str = "pvc-4c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f";

    #[test]
    fn volume_names() {
        let plain = with_prefix(None, Some(("shop", "data")));
        assert_eq!(gluster_volume_name(&plain, PVC_NAME).unwrap(), PVC_NAME);
        let prefixed = with_prefix(Some("team"), Some(("shop", "db.data")));
        assert_eq!(
            gluster_volume_name(&prefixed, PVC_NAME).unwrap(),
            format!("team_shop_db-data_{PVC_NAME}")
        );
        let no_pvc = with_prefix(Some("team"), None);
        assert_eq!(
            gluster_volume_name(&no_pvc, PVC_NAME).unwrap(),
            format!("team_{PVC_NAME}")
        );
        // Dots in a CSI name are allowed and become '-'.
        assert_eq!(gluster_volume_name(&plain, "a.b").unwrap(), "a-b");
        // Pure: the same input gives the same name.
        assert_eq!(
            gluster_volume_name(&prefixed, PVC_NAME),
            gluster_volume_name(&prefixed, PVC_NAME)
        );
    }

    #[test]
    fn long_names_cut_the_middle_and_keep_the_csi_name() {
        let ns = "n".repeat(63);
        let pvc = "p".repeat(253);
        let p = with_prefix(Some("team"), Some((&ns, &pvc)));
        let a = gluster_volume_name(&p, PVC_NAME).unwrap();
        assert_eq!(a.len(), MAX_VOLUME_NAME_LEN);
        assert!(a.starts_with("team_nnnn"));
        assert!(a.ends_with(&format!("_{PVC_NAME}")));
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        let b = gluster_volume_name(&p, "pvc-00000000-0000-0000-0000-000000000000").unwrap();
        assert_ne!(a, b, "the CSI name keeps cut names distinct");

        // Exactly no room for a middle part: <prefix>_<csi>.
        let prefix = "x".repeat(MAX_VOLUME_NAME_LEN - 1 - PVC_NAME.len() - 1);
        let p = with_prefix(Some(&prefix), Some(("shop", "data")));
        assert_eq!(
            gluster_volume_name(&p, PVC_NAME).unwrap(),
            format!("{prefix}_{PVC_NAME}")
        );
        // A cut that would end in a separator drops it.
        let prefix = "x".repeat(MAX_VOLUME_NAME_LEN - PVC_NAME.len() - 2 - 5);
        let p = with_prefix(Some(&prefix), Some(("shop", "data")));
        assert_eq!(
            gluster_volume_name(&p, PVC_NAME).unwrap(),
            format!("{prefix}_shop_{PVC_NAME}")
        );
        // Prefix plus CSI name cannot fit.
        let prefix = "x".repeat(MAX_VOLUME_NAME_LEN - PVC_NAME.len());
        let p = with_prefix(Some(&prefix), None);
        assert!(matches!(
            gluster_volume_name(&p, PVC_NAME),
            Err(ParamError::NamePrefixTooLong { .. })
        ));
    }

    #[test]
    fn bad_csi_names() {
        let p = with_prefix(None, None);
        for bad in [
            String::new(),
            "x".repeat(MAX_VOLUME_NAME_LEN + 1),
            "a b".into(),
            "a;rm -rf".into(),
            "a'b".into(),
            "näme".into(),
            "a/b".into(),
        ] {
            match gluster_volume_name(&p, &bad) {
                Err(ParamError::InvalidVolumeName { name, .. }) => assert_eq!(name, bad),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert_eq!(
            gluster_volume_name(&p, &"x".repeat(MAX_VOLUME_NAME_LEN)).unwrap(),
            "x".repeat(MAX_VOLUME_NAME_LEN)
        );
    }

    #[test]
    fn the_create_request_carries_the_marker() {
        let p = ok(&[
            ("clusterid", C1),
            ("volumetype", "replicate:2"),
            ("volumeoptions", "client.ssl on"),
            ("snapfactor", "1.5"),
        ]);
        let r = create_request(&p, "team_pvc-1", "pvc-1", 10, 2001);
        assert_eq!(r.size, 10);
        assert_eq!(r.name, "team_pvc-1");
        assert_eq!(r.clusters, vec![C1.to_string()]);
        assert_eq!(r.gid, 2001);
        assert_eq!(durability_label(&r.durability), "replicate:2");
        assert_eq!(
            r.glustervolumeoptions,
            vec!["client.ssl on", "user.heqet-csi.name pvc-1"]
        );
        assert!(r.snapshot.enable);
        assert_eq!(r.snapshot.factor, 1.5);
        assert_eq!(marker_of(&r.glustervolumeoptions), Some("pvc-1"));
    }

    #[test]
    fn capacity_ranges() {
        const G: i64 = 1 << 30;
        assert_eq!(capacity_gib(0, 0), Ok(1));
        assert_eq!(capacity_gib(1, 0), Ok(1));
        assert_eq!(capacity_gib(G, 0), Ok(1));
        assert_eq!(capacity_gib(G + 1, 0), Ok(2));
        assert_eq!(capacity_gib(5 * G, 5 * G), Ok(5));
        assert_eq!(capacity_gib(4 * G + 1, 5 * G), Ok(5));
        assert_eq!(capacity_gib(0, 5 * G + G / 2), Ok(5));
        assert_eq!(capacity_gib(0, G), Ok(1));
        assert_eq!(
            capacity_gib(i64::MAX, 0),
            Ok((i64::MAX as u64).div_ceil(1 << 30))
        );
        for (r, l) in [
            (G + 1, G + 2),
            (0, G - 1),
            (0, 1),
            (3 * G, 2 * G),
            (100, 200),
        ] {
            assert_eq!(
                capacity_gib(r, l),
                Err(ParamError::CapacityOutOfRange {
                    required: r,
                    limit: l
                }),
                "{r} {l}"
            );
        }
        assert!(matches!(
            capacity_gib(-1, 0),
            Err(ParamError::NegativeCapacity {
                field: "required_bytes",
                ..
            })
        ));
        assert!(matches!(
            capacity_gib(0, -1),
            Err(ParamError::NegativeCapacity {
                field: "limit_bytes",
                ..
            })
        ));
    }

    #[test]
    fn durability_labels() {
        assert_eq!(durability_label(&replicate(3)), "replicate:3");
        assert_eq!(durability_label(&VolumeDurabilityInfo::default()), "none");
        let d = VolumeDurabilityInfo {
            kind: "disperse".into(),
            disperse: DisperseDurability {
                data: 4,
                redundancy: 2,
            },
            ..VolumeDurabilityInfo::default()
        };
        assert_eq!(durability_label(&d), "disperse:4:2");
    }

    #[test]
    fn markers_in_stored_option_lists() {
        let opts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(marker_option("pvc-1"), "user.heqet-csi.name pvc-1");
        // heketi stores the server's pre/post options around the request's: empty strings.
        assert_eq!(
            marker_of(&opts(&[
                "",
                "performance.quick-read off",
                "user.heqet-csi.name pvc-1",
                ""
            ])),
            Some("pvc-1")
        );
        assert_eq!(marker_of(&opts(&["", "user.heketi.id abc", ""])), None);
        assert_eq!(marker_of(&opts(&[])), None);
        assert_eq!(marker_of(&opts(&["user.heqet-csi.name"])), None);
        assert_eq!(marker_of(&opts(&["user.heqet-csi.named pvc-1"])), None);
        assert_eq!(
            marker_of(&opts(&[
                "user.heqet-csi.name a",
                " user.heqet-csi.name  b "
            ])),
            Some("b")
        );
    }

    #[test]
    fn gids_are_picked_lowest_first() {
        let used: BTreeSet<u32> = [2000, 2001, 2003, 1500, 9000].into_iter().collect();
        assert_eq!(pick_gid(&used, 2000, 2010), Some(2002));
        assert_eq!(pick_gid(&BTreeSet::new(), 2000, 2010), Some(2000));
        assert_eq!(pick_gid(&used, 2000, 2001), None);
        assert_eq!(pick_gid(&used, 2003, 2003), None);
        assert_eq!(pick_gid(&used, 2004, 2004), Some(2004));
        assert_eq!(pick_gid(&used, 10, 5), None);
        // heketi refuses 2147483647, the default gidMax.
        let top: BTreeSet<u32> = [2147483645, 2147483646].into_iter().collect();
        assert_eq!(pick_gid(&top, 2147483645, 2147483647), None);
        assert_eq!(pick_gid(&top, 2147483644, u32::MAX), Some(2147483644));
        let all: BTreeSet<u32> = (2000..=2100).collect();
        assert_eq!(pick_gid(&all, 2000, 2147483647), Some(2101));
    }
}
