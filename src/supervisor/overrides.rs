//! Settings changed at runtime (from Home Assistant or MQTT) that must survive
//! a bridge restart: one small JSON file per camera in the state directory.
//!
//! An override remembers the config value it replaced. If the config file has
//! since been edited to a different value, the edit wins and the override is
//! dropped, so a deliberate config change is never masked by an old override.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::CameraId;

/// A camera's persisted runtime settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overrides {
    /// Snapshot interval set at runtime, with the config value it replaced.
    pub snapshot_interval_s: Option<Overridden<u32>>,
}

/// A runtime value and the configured value it overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overridden<T> {
    /// The value set at runtime.
    pub value: T,
    /// The config value when it was set.
    pub configured: T,
}

impl<T: Copy + PartialEq> Overridden<T> {
    /// The value to use now, given the current config value.
    pub fn resolve(this: Option<Self>, configured: T) -> T {
        match this {
            Some(o) if o.configured == configured => o.value,
            _ => configured,
        }
    }
}

/// Where a camera's overrides live.
#[derive(Debug, Clone)]
pub struct OverrideStore {
    path: PathBuf,
}

impl OverrideStore {
    /// The store for `camera` under `state_dir`.
    pub fn new(state_dir: &Path, camera: &CameraId) -> Self {
        Self {
            path: state_dir
                .join("cameras")
                .join(format!("{}.json", camera.as_str())),
        }
    }

    /// Reads the overrides; a missing or unreadable file means none (logged).
    pub fn load(&self) -> Overrides {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %self.path.display(), error = %e, "ignoring unreadable camera settings");
                Overrides::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Overrides::default(),
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot read camera settings");
                Overrides::default()
            }
        }
    }

    /// Writes the overrides atomically (temp file + rename). Blocking; small.
    pub fn save(&self, overrides: &Overrides) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(overrides).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_holds_until_the_config_value_changes() {
        let o = Some(Overridden {
            value: 7,
            configured: 10,
        });
        assert_eq!(Overridden::resolve(o, 10), 7);
        assert_eq!(Overridden::resolve(o, 30), 30, "a config edit wins");
        assert_eq!(Overridden::resolve(None, 10), 10);
    }

    #[test]
    fn round_trips_and_tolerates_missing_or_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = OverrideStore::new(dir.path(), &CameraId::parse("porch").unwrap());
        assert_eq!(store.load(), Overrides::default());
        let o = Overrides {
            snapshot_interval_s: Some(Overridden {
                value: 7,
                configured: 10,
            }),
        };
        store.save(&o).unwrap();
        assert_eq!(store.load(), o);
        std::fs::write(dir.path().join("cameras/porch.json"), b"{not json").unwrap();
        assert_eq!(store.load(), Overrides::default());
    }
}
