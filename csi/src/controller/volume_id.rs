//! The CSI volume id: `<heketi volume id>` for volumes on the controller's default REST server
//! (`--resturl`), `<heketi volume id>@<resturl>` for volumes a StorageClass put elsewhere.
//!
//! DeleteVolume and ControllerExpandVolume get no StorageClass parameters, so the id itself
//! must say which server holds the volume. The heketi id is 32 lowercase hex characters (no
//! `@`), so the first `@` always ends it; the URL is stored in the spelling
//! [`normalize_rest_url`] gives, and anything else is not ours.

use crate::controller::params::normalize_rest_url;

/// The CSI spec's general limit for string fields ("Size Limits": 128 bytes); volume_id does
/// not override it.
pub const MAX_VOLUME_ID_LEN: usize = 128;
const HEKETI_ID_LEN: usize = 32;
/// What is left for the URL after `<32 hex>@`.
pub const MAX_SERVER_LEN: usize = MAX_VOLUME_ID_LEN - HEKETI_ID_LEN - 1;

/// A decoded volume id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeRef {
    /// The heketi volume id.
    pub id: String,
    /// The REST server; `None` = the controller's default server.
    pub server: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeIdError {
    /// Callers answer NotFound: the id names nothing heqet-csi could have made.
    #[error("volume id {0:?} was not made by heqet-csi")]
    Foreign(String),
    #[error("{0:?} is not a heketi volume id (32 lowercase hexadecimal characters)")]
    InvalidHeketiId(String),
    #[error("resturl {server:?} cannot be carried in a volume id: {reason}")]
    InvalidServer { server: String, reason: String },
    #[error(
        "resturl {server:?} is too long to be carried in a volume id: CSI limits volume ids to \
         {MAX_VOLUME_ID_LEN} bytes, which leaves {MAX_SERVER_LEN} for the URL, and it has \
         {len}; use a shorter URL for the server (or make it the controller's --resturl)"
    )]
    ServerTooLong { server: String, len: usize },
}

fn is_heketi_id(s: &str) -> bool {
    s.len() == HEKETI_ID_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether volumes on `server` (a non-default REST server) can get a volume id. Check this
/// before creating a volume there: a volume whose id cannot be returned would be leaked.
pub fn check_server(server: &str) -> Result<(), VolumeIdError> {
    let normalized = normalize_rest_url(server).map_err(|e| VolumeIdError::InvalidServer {
        server: server.to_string(),
        reason: e.to_string(),
    })?;
    if normalized != server {
        return Err(VolumeIdError::InvalidServer {
            server: server.to_string(),
            reason: format!("it is not in normalized form (that would be {normalized:?})"),
        });
    }
    if server.len() > MAX_SERVER_LEN {
        return Err(VolumeIdError::ServerTooLong {
            server: server.to_string(),
            len: server.len(),
        });
    }
    Ok(())
}

/// The volume id of heketi volume `id`; `server` is `None` for the default server and
/// otherwise a normalized URL.
pub fn encode(id: &str, server: Option<&str>) -> Result<String, VolumeIdError> {
    if !is_heketi_id(id) {
        return Err(VolumeIdError::InvalidHeketiId(id.to_string()));
    }
    match server {
        None => Ok(id.to_string()),
        Some(s) => {
            check_server(s)?;
            Ok(format!("{id}@{s}"))
        }
    }
}

/// Reads a volume id. Anything [`encode`] could not have made is [`VolumeIdError::Foreign`]:
/// no guessing, not even a case-folded id (heketi's lookups are byte-exact).
pub fn decode(s: &str) -> Result<VolumeRef, VolumeIdError> {
    let foreign = || VolumeIdError::Foreign(s.to_string());
    if s.len() > MAX_VOLUME_ID_LEN {
        return Err(foreign());
    }
    let (id, server) = match s.split_once('@') {
        Some((id, server)) => (id, Some(server)),
        None => (s, None),
    };
    if !is_heketi_id(id) {
        return Err(foreign());
    }
    if let Some(server) = server {
        check_server(server).map_err(|_| foreign())?;
    }
    Ok(VolumeRef {
        id: id.to_string(),
        server: server.map(str::to_string),
    })
}

impl VolumeRef {
    pub fn encode(&self) -> Result<String, VolumeIdError> {
        encode(&self.id, self.server.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f";

    fn foreign(s: &str) {
        assert_eq!(
            decode(s),
            Err(VolumeIdError::Foreign(s.to_string())),
            "{s:?}"
        );
    }

    #[test]
    fn round_trips() {
        for server in [
            None,
            Some("http://h:8080"),
            Some("https://heketi.storage.svc.cluster.local:8080/api"),
            Some("http://[fe80::1]:8080"),
            Some("http://h/a@b"),
        ] {
            let s = encode(ID, server).unwrap();
            let r = decode(&s).unwrap();
            assert_eq!(r.id, ID);
            assert_eq!(r.server.as_deref(), server);
            assert_eq!(r.encode().unwrap(), s);
        }
        assert_eq!(encode(ID, None).unwrap(), ID);
        assert_eq!(
            encode(ID, Some("http://h:8080")).unwrap(),
            format!("{ID}@http://h:8080")
        );
    }

    #[test]
    fn the_longest_server_fits_exactly() {
        let base = "http://h/";
        let server = format!("{base}{}", "p".repeat(MAX_SERVER_LEN - base.len()));
        assert_eq!(server.len(), MAX_SERVER_LEN);
        let s = encode(ID, Some(&server)).unwrap();
        assert_eq!(s.len(), MAX_VOLUME_ID_LEN);
        assert_eq!(decode(&s).unwrap().server.as_deref(), Some(server.as_str()));

        let longer = format!("{server}q");
        let e = encode(ID, Some(&longer)).unwrap_err();
        assert_eq!(
            e,
            VolumeIdError::ServerTooLong {
                server: longer.clone(),
                len: MAX_SERVER_LEN + 1
            }
        );
        assert!(e
            .to_string()
            .contains("too long to be carried in a volume id"));
        assert!(check_server(&longer).is_err());
        foreign(&format!("{ID}@{longer}"));
    }

    #[test]
    fn encode_refuses_what_decode_would_refuse() {
        for bad in [
            "",
            "4C1D2E3F4A5B6C7D8E9F0A1B2C3D4E5F",
            &ID[..31],
            &format!("{ID}0"),
        ] {
            assert_eq!(
                encode(bad, None),
                Err(VolumeIdError::InvalidHeketiId(bad.to_string()))
            );
        }
        for bad in [
            "",
            "ftp://h",
            "http://h/",
            "HTTP://h",
            "http://H",
            " http://h",
        ] {
            assert!(
                matches!(
                    encode(ID, Some(bad)),
                    Err(VolumeIdError::InvalidServer { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn malformed_ids_are_foreign() {
        foreign("");
        foreign(&ID.to_uppercase());
        foreign(&ID[..31]);
        foreign(&format!("{ID}0"));
        foreign(&format!("vol_{ID}"));
        foreign("4c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f");
        foreign(&format!(" {ID}"));
        foreign(&format!("{ID} "));
        foreign(&format!("{ID}@"));
        foreign(&format!("{ID}@ "));
        foreign(&format!("{ID}@ftp://h"));
        foreign(&format!("{ID}@h:8080"));
        foreign(&format!("{ID}@http://h/"));
        foreign(&format!("{ID}@http://H"));
        foreign(&format!("{ID}@http://h x"));
        foreign(&format!("{ID}@http://h\n"));
        foreign(&format!("{}@http://h", &ID[..31]));
        foreign("@http://h");
        foreign("pvc-4c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f");
        let e = decode("nfs://x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "volume id \"nfs://x\" was not made by heqet-csi"
        );
    }
}
