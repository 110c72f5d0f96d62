//! What is known about every camera, built only from [`BridgeEvent`]s: its
//! description, whether it is online, its typed state and its last snapshot.
//! [`Views::apply`] is pure; the hub keeps one copy that the HTTP side reads,
//! and the MQTT publisher keeps its own (it republishes from it after a
//! reconnect). Nothing here knows about MQTT or HTTP.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{BridgeEvent, CameraState, SessionPhase};
use crate::model::{CameraId, CameraInfo};

/// The last published snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// JPEG bytes.
    pub jpeg: Bytes,
    /// When it was taken (RFC 3339).
    pub taken_at: String,
}

/// One camera as the bridge's consumers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraView {
    /// Its description (discovery's, corrected by what the camera reported).
    pub info: CameraInfo,
    /// Whether it is online (its session delivers pictures).
    pub online: bool,
    /// Its state, once its camera task sent one.
    pub state: Option<CameraState>,
    /// Its last published snapshot.
    pub snapshot: Option<Snapshot>,
}

impl CameraView {
    /// The one-word status a person reads: `streaming`, `connecting`,
    /// `offline` or `auth_failed`.
    pub fn status(&self) -> &'static str {
        let phase = self.state.as_ref().map(|s| s.session);
        match (self.online, phase) {
            (_, Some(SessionPhase::AuthFailed)) => "auth_failed",
            (true, _) => "streaming",
            (false, Some(SessionPhase::Connecting) | None) => "connecting",
            (false, _) => "offline",
        }
    }
}

/// What [`Views::apply`] changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Nothing (an unknown camera, or the same value again).
    Unchanged,
    /// The camera's view changed.
    Changed,
    /// The camera is gone; this was its last view.
    Removed(Box<CameraView>),
}

/// Every camera's view, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Views {
    cameras: BTreeMap<CameraId, CameraView>,
}

impl Views {
    /// Applies one event.
    pub fn apply(&mut self, event: &BridgeEvent) -> Applied {
        match event {
            BridgeEvent::Registered(info) => {
                match self.cameras.get_mut(&info.id) {
                    Some(v) if v.info == *info => return Applied::Unchanged,
                    Some(v) => v.info = info.clone(),
                    None => {
                        self.cameras.insert(
                            info.id.clone(),
                            CameraView {
                                info: info.clone(),
                                online: false,
                                state: None,
                                snapshot: None,
                            },
                        );
                    }
                }
                Applied::Changed
            }
            BridgeEvent::Removed(id) => match self.cameras.remove(id) {
                Some(v) => Applied::Removed(Box::new(v)),
                None => Applied::Unchanged,
            },
            BridgeEvent::Availability { camera, online } => match self.cameras.get_mut(camera) {
                Some(v) if v.online != *online => {
                    v.online = *online;
                    Applied::Changed
                }
                _ => Applied::Unchanged,
            },
            BridgeEvent::State { camera, state } => match self.cameras.get_mut(camera) {
                Some(v) => {
                    v.state = Some((**state).clone());
                    Applied::Changed
                }
                None => Applied::Unchanged,
            },
            BridgeEvent::Snapshot {
                camera,
                jpeg,
                taken_at,
            } => match self.cameras.get_mut(camera) {
                Some(v) => {
                    v.snapshot = Some(Snapshot {
                        jpeg: jpeg.clone(),
                        taken_at: taken_at.clone(),
                    });
                    Applied::Changed
                }
                None => Applied::Unchanged,
            },
            BridgeEvent::CommandResult { .. }
            | BridgeEvent::Scanned(_)
            | BridgeEvent::Viewers { .. } => Applied::Unchanged,
        }
    }

    /// One camera.
    pub fn get(&self, id: &CameraId) -> Option<&CameraView> {
        self.cameras.get(id)
    }

    /// One camera, mutable (the publisher marks cameras stopped at shutdown).
    pub fn get_mut(&mut self, id: &CameraId) -> Option<&mut CameraView> {
        self.cameras.get_mut(id)
    }

    /// Every camera, by id.
    pub fn iter(&self) -> impl Iterator<Item = &CameraView> {
        self.cameras.values()
    }

    /// Every camera id, in order.
    pub fn ids(&self) -> impl Iterator<Item = &CameraId> {
        self.cameras.keys()
    }

    /// Number of cameras.
    pub fn len(&self) -> usize {
        self.cameras.len()
    }

    /// No cameras?
    pub fn is_empty(&self) -> bool {
        self.cameras.is_empty()
    }

    /// The camera a person names: its id, or its UID
    /// ([`CameraInfo::answers_to`]).
    pub fn find(&self, name: &str) -> Option<&CameraView> {
        CameraId::parse(name)
            .ok()
            .and_then(|id| self.cameras.get(&id))
            .or_else(|| self.cameras.values().find(|v| v.info.answers_to(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> CameraInfo {
        CameraInfo::fixture(id)
    }

    fn id(s: &str) -> CameraId {
        CameraId::parse(s).unwrap()
    }

    #[test]
    fn a_camera_is_known_from_registration_until_removal_and_keeps_its_state_across_updates() {
        let mut v = Views::default();
        assert_eq!(
            v.apply(&BridgeEvent::Availability {
                camera: id("door"),
                online: true
            }),
            Applied::Unchanged,
            "events for unknown cameras change nothing"
        );
        assert_eq!(
            v.apply(&BridgeEvent::Registered(info("door"))),
            Applied::Changed
        );
        assert_eq!(v.get(&id("door")).unwrap().status(), "connecting");
        let on = BridgeEvent::Availability {
            camera: id("door"),
            online: true,
        };
        assert_eq!(v.apply(&on), Applied::Changed);
        assert_eq!(v.apply(&on), Applied::Unchanged);
        let state = CameraState::new(&info("door"), 10);
        v.apply(&BridgeEvent::State {
            camera: id("door"),
            state: Box::new(state.clone()),
        });
        v.apply(&BridgeEvent::Snapshot {
            camera: id("door"),
            jpeg: Bytes::from_static(b"jpeg"),
            taken_at: "t".into(),
        });
        let mut renamed = info("door");
        renamed.name = "Front door".into();
        assert_eq!(v.apply(&BridgeEvent::Registered(renamed)), Applied::Changed);
        let door = v.get(&id("door")).unwrap();
        assert!(door.online && door.state == Some(state) && door.snapshot.is_some());
        assert_eq!(door.info.name, "Front door");
        assert_eq!(door.status(), "streaming");
        assert!(v.find("UID-door").is_some() && v.find("door").is_some());
        assert!(v.find("uiddoor").is_some(), "any case, hyphens optional");
        assert!(v.find("UID-dor").is_none() && v.find("").is_none());
        assert!(matches!(
            v.apply(&BridgeEvent::Removed(id("door"))),
            Applied::Removed(last) if last.info.name == "Front door"
        ));
        assert!(v.is_empty());
    }

    #[test]
    fn the_status_word_follows_availability_and_the_session_phase() {
        let mut view = CameraView {
            info: info("door"),
            online: false,
            state: None,
            snapshot: None,
        };
        assert_eq!(view.status(), "connecting");
        let mut state = CameraState::new(&info("door"), 10);
        for (phase, online, word) in [
            (SessionPhase::Backoff, false, "offline"),
            (SessionPhase::AwaitingDiscovery, false, "offline"),
            (SessionPhase::Stopped, false, "offline"),
            (SessionPhase::AuthFailed, false, "auth_failed"),
            (SessionPhase::Connecting, false, "connecting"),
            (SessionPhase::Streaming, true, "streaming"),
        ] {
            state.session = phase;
            view.state = Some(state.clone());
            view.online = online;
            assert_eq!(view.status(), word, "{phase:?}");
        }
    }
}
