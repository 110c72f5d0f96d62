//! The Wyze account's camera list as a discovery source: every TUTK camera
//! the cloud lists (with its UID, LAN address, ENR and MAC) becomes a
//! camera; a changed address or ENR is an `Updated`, a camera the cloud no
//! longer lists is `Lost`.
//!
//! The client keeps its tokens and the last list in the state directory, so
//! when the cloud is down the cameras come from that cache and keep
//! streaming; such a scan is reported as `wyze_cache` and counts as listing
//! them (a cloud outage never removes a camera).

use std::net::SocketAddr;
use std::sync::Arc;

use super::configured::{tutk_camera_spec, TutkParams};
use super::Discovered;
use super::{OffSession, OffSessionFuture};
use crate::cloud::wyze::{ListSource, WyzeClient};
use crate::model::{CameraCommand, CameraId, Capability, CommandError, CommandKind};

/// Source names: the cloud answered / the cache stood in.
pub const SOURCE_CLOUD: &str = "wyze_cloud";
/// See [`SOURCE_CLOUD`].
pub const SOURCE_CACHE: &str = "wyze_cache";

/// The Wyze cloud source (one client per account for the bridge's lifetime,
/// so a login pause after invalid credentials holds).
#[derive(Clone)]
pub struct WyzeCloud {
    client: Arc<WyzeClient>,
    snapshot_interval_s: u32,
    search: Vec<SocketAddr>,
}

impl std::fmt::Debug for WyzeCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WyzeCloud").finish_non_exhaustive()
    }
}

impl WyzeCloud {
    /// A source around `client`; cameras get `snapshot_interval_s`, and are
    /// looked for at `search` (the TUTK LAN search targets) when the address
    /// the cloud lists does not answer.
    pub fn new(client: WyzeClient, snapshot_interval_s: u32, search: Vec<SocketAddr>) -> Self {
        Self {
            client: Arc::new(client),
            snapshot_interval_s,
            search,
        }
    }

    /// Asks the cloud (or the cache) for the cameras. Errors are logged and
    /// give an empty list; they never carry a secret.
    pub async fn scan(&self) -> Vec<Discovered> {
        let list = match self.client.cameras().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "Wyze cloud: no camera list");
                return Vec::new();
            }
        };
        let source = match &list.source {
            ListSource::Cloud => SOURCE_CLOUD,
            ListSource::Cache { cloud_error, .. } => {
                tracing::warn!(error = %cloud_error, "Wyze cloud unreachable; using the cached camera list");
                SOURCE_CACHE
            }
        };
        let mut out = Vec::new();
        for cam in list.cameras {
            let t = cam.tutk_target();
            let host = if t.host.contains(':') {
                t.host.clone()
            } else {
                format!("{}:{}", t.host, crate::proto::tutk::iotc::DEFAULT_PORT)
            };
            let peer = match (host.parse(), self.search.first()) {
                (Ok(peer), _) => peer,
                // No address in the list: look for it by UID.
                (Err(_), Some(first)) => *first,
                (Err(_), None) => {
                    tracing::debug!(model = %t.model, "Wyze camera without a usable LAN address (and the TUTK LAN search is off); skipped");
                    continue;
                }
            };
            let params = TutkParams {
                id: CameraId::derive(&t.uid),
                name: t.name.clone(),
                uid: t.uid.clone(),
                peer,
                search: self.search.clone(),
                enr: t.enr.clone(),
                mac: t.mac.clone(),
                model: Some(t.model.clone()).filter(|m| !m.is_empty()),
                firmware: Some(t.firmware.clone()).filter(|f| !f.is_empty()),
                parent: t.parent.as_ref().map(|p| (p.enr.clone(), p.mac.clone())),
                snapshot_interval_s: self.snapshot_interval_s,
            };
            let notes = vec![("model", t.model.clone()), ("firmware", t.firmware.clone())];
            let mut spec = tutk_camera_spec(params);
            // Reboot goes through the cloud (no local reboot command is
            // documented): always offered for a camera from the account.
            spec.info.capabilities.push(Capability::Reboot);
            spec.off_session = Some(Arc::new(CloudActions {
                client: self.client.clone(),
                mac: t.mac.clone(),
                model: t.model.clone(),
            }));
            out.push(Discovered {
                spec,
                source,
                notes,
            });
        }
        out
    }
}

/// A cloud camera's commands that go through the account: `reboot` as the
/// `restart` action (`wyze.md` §2.1, `run_action`).
struct CloudActions {
    client: Arc<WyzeClient>,
    mac: String,
    model: String,
}

impl std::fmt::Debug for CloudActions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudActions")
            .field("mac", &self.mac)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl OffSession for CloudActions {
    fn kinds(&self) -> Vec<CommandKind> {
        vec![CommandKind::Reboot]
    }

    fn run(&self, command: CameraCommand) -> OffSessionFuture {
        let (client, mac, model) = (self.client.clone(), self.mac.clone(), self.model.clone());
        Box::pin(async move {
            match command {
                CameraCommand::Reboot => client
                    .run_action(&mac, &model, "restart")
                    .await
                    .map_err(|e| CommandError::Cloud(e.to_string())),
                other => Err(CommandError::Unsupported {
                    command: other.kind().name(),
                    protocol: crate::model::Protocol::Tutk,
                }),
            }
        })
    }
}
