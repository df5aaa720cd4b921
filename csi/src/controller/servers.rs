//! Which heketi API server a call goes to, with which credentials, and the per-server state
//! the controller keeps (the volume-name index and the gids being handed out).
//!
//! The default server comes from the command line (`--resturl`, `--restuser`,
//! `--restkey-file`); a StorageClass may name another one (`resturl`). Clients are cached per
//! (url, user, key) because each carries its own HTTP connection pool.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use heqet_api::client::{Client, ClientOptions, TlsOptions};

use crate::controller::names::NameIndex;
use crate::controller::params::{normalize_rest_url, ParamError, RestTarget};
use crate::error::ControllerError;

/// The controller's own REST server, from the command line.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    pub url: Option<String>,
    pub user: String,
    pub key: Option<String>,
}

/// State kept per REST server URL, shared by every credential used against it.
#[derive(Default)]
pub struct ServerState {
    pub index: NameIndex,
    /// Gids chosen for creates that have not finished yet, so two concurrent creates never
    /// get the same one.
    reserved_gids: Mutex<BTreeSet<u32>>,
}

impl ServerState {
    pub fn reserved_gids(&self) -> MutexGuard<'_, BTreeSet<u32>> {
        // A poisoned lock only means another task panicked mid-update of a plain set.
        self.reserved_gids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One resolved target: the client to use and the state of its server.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    /// Whether this is the controller's default server (then volume ids omit the url).
    pub is_default: bool,
    pub client: Client,
    pub state: Arc<ServerState>,
}

#[derive(Default)]
struct Cache {
    clients: HashMap<(String, String, String), Client>,
    states: HashMap<String, Arc<ServerState>>,
}

pub struct Servers {
    defaults: Defaults,
    poll_interval: Duration,
    cache: Mutex<Cache>,
}

impl Servers {
    /// Fails when `--resturl` is not a usable http(s) URL.
    pub fn new(defaults: Defaults) -> Result<Servers, ParamError> {
        // One spelling per server, so "is this the default?" is a string comparison.
        let url = match defaults.url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => Some(normalize_rest_url(u)?),
        };
        Ok(Servers {
            defaults: Defaults { url, ..defaults },
            // heqet holds a pending /queue poll open until the outcome exists; against heketi
            // a short pause keeps CreateVolume latency close to the create itself.
            poll_interval: Duration::from_millis(200),
            cache: Mutex::new(Cache::default()),
        })
    }

    pub fn defaults(&self) -> &Defaults {
        &self.defaults
    }

    /// The endpoint for a call. `volume_server` is the server a volume id names (it wins over
    /// everything), `target` what the StorageClass parameters and the CSI secrets say.
    pub fn resolve(
        &self,
        target: &RestTarget,
        volume_server: Option<&str>,
    ) -> Result<Endpoint, ControllerError> {
        let url = volume_server
            .map(str::to_string)
            .or_else(|| target.url.clone())
            .or_else(|| self.defaults.url.clone())
            .ok_or(ControllerError::NoServer)?;
        let url = normalize_rest_url(&url)?;
        let is_default = self.defaults.url.as_deref() == Some(url.as_str());
        // The default credentials belong to the default server only: never send its key to
        // a server a StorageClass named.
        let user = target
            .user
            .clone()
            .or_else(|| is_default.then(|| self.defaults.user.clone()))
            .unwrap_or_else(|| "admin".to_string());
        let key = target
            .key
            .clone()
            .or_else(|| is_default.then(|| self.defaults.key.clone()).flatten())
            .unwrap_or_default();

        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let cache_key = (url.clone(), user.clone(), key.clone());
        let client = match cache.clients.get(&cache_key) {
            Some(c) => c.clone(),
            None => {
                let opts = ClientOptions {
                    poll_interval: self.poll_interval,
                    ..ClientOptions::default()
                };
                let c = Client::with_options(&url, &user, &key, &TlsOptions::default(), opts)
                    .map_err(|source| ControllerError::Rest {
                        context: format!("REST server {url}"),
                        source,
                    })?;
                cache.clients.insert(cache_key, c.clone());
                c
            }
        };
        let state = cache.states.entry(url.clone()).or_default().clone();
        Ok(Endpoint {
            url,
            is_default,
            client,
            state,
        })
    }

    /// The default server's endpoint, if one is configured (Probe, ListVolumes).
    pub fn default_endpoint(&self) -> Option<Result<Endpoint, ControllerError>> {
        self.defaults
            .url
            .as_ref()
            .map(|_| self.resolve(&RestTarget::default(), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers() -> Servers {
        Servers::new(Defaults {
            url: Some("http://default:8080/".into()),
            user: "admin".into(),
            key: Some("DEFAULT-KEY".into()),
        })
        .unwrap()
    }

    #[test]
    fn the_volume_ids_server_wins_then_the_class_then_the_default() {
        let s = servers();
        let class = RestTarget {
            url: Some("http://class:8080".into()),
            ..RestTarget::default()
        };
        assert_eq!(
            s.resolve(&class, Some("http://vol:8080")).unwrap().url,
            "http://vol:8080"
        );
        assert_eq!(s.resolve(&class, None).unwrap().url, "http://class:8080");
        let d = s.resolve(&RestTarget::default(), None).unwrap();
        assert_eq!(d.url, "http://default:8080");
        assert!(d.is_default);
    }

    #[test]
    fn default_credentials_stay_with_the_default_server() {
        let s = servers();
        let class = RestTarget {
            url: Some("http://other:8080".into()),
            ..RestTarget::default()
        };
        let e = s.resolve(&class, None).unwrap();
        assert!(!e.is_default);
        // The cache key proves which key was used.
        let cache = s.cache.lock().unwrap();
        assert!(cache.clients.contains_key(&(
            "http://other:8080".into(),
            "admin".into(),
            String::new()
        )));
    }

    #[test]
    fn state_is_shared_per_url() {
        let s = servers();
        let a = s.resolve(&RestTarget::default(), None).unwrap();
        let b = s
            .resolve(
                &RestTarget {
                    user: Some("other".into()),
                    key: Some("k".into()),
                    ..RestTarget::default()
                },
                None,
            )
            .unwrap();
        assert!(Arc::ptr_eq(&a.state, &b.state));
    }

    #[test]
    fn no_server_at_all_is_an_error() {
        let s = Servers::new(Defaults::default()).unwrap();
        assert!(matches!(
            s.resolve(&RestTarget::default(), None),
            Err(ControllerError::NoServer)
        ));
        assert!(s.default_endpoint().is_none());
    }
}
