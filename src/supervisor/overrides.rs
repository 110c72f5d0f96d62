//! Settings changed at runtime (from Home Assistant or MQTT) that must survive
//! a bridge restart: one small JSON file per camera in the state directory.
//!
//! An override remembers the config value it replaced. If the config file has
//! since been edited to a different value, the edit wins and the override is
//! dropped, so a deliberate config change is never masked by an old override.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::Instrument as _;

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

/// The one writer of a camera's settings file. Saves run one at a time on a
/// blocking thread; values set while a save runs replace each other, and only
/// the latest is written next. So a burst of changes costs a few writes, never
/// races on the temporary file, and the file ends with the last value.
#[derive(Debug)]
pub struct OverrideWriter {
    latest: tokio::sync::watch::Sender<Option<Overrides>>,
    task: tokio::task::JoinHandle<()>,
}

impl OverrideWriter {
    /// Starts the writer for `store`.
    pub fn spawn(store: OverrideStore) -> Self {
        let (latest, mut rx) = tokio::sync::watch::channel(None::<Overrides>);
        let task = tokio::spawn(
            async move {
                // An unseen value is reported before the channel's closing, so
                // the last value set before `close` is written too.
                while rx.changed().await.is_ok() {
                    let Some(overrides) = rx.borrow_and_update().clone() else {
                        continue;
                    };
                    let store = store.clone();
                    let saved =
                        tokio::task::spawn_blocking(move || store.save(&overrides).map_err(|e| (store, e)))
                            .await;
                    if let Ok(Err((store, e))) = saved {
                        tracing::warn!(path = %store.path.display(), error = %e, "cannot save camera settings; they will reset on restart");
                    }
                }
            }
            .in_current_span(),
        );
        Self { latest, task }
    }

    /// Saves `overrides` soon (replacing a value not written yet).
    pub fn save(&self, overrides: Overrides) {
        self.latest.send_replace(Some(overrides));
    }

    /// Writes what is pending and stops.
    pub async fn close(self) {
        drop(self.latest);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(value: u32) -> Overrides {
        Overrides {
            snapshot_interval_s: Some(Overridden {
                value,
                configured: 10,
            }),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_changes_from_many_tasks_ends_with_the_last_value_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = OverrideStore::new(dir.path(), &CameraId::parse("porch").unwrap());
        let writer = std::sync::Arc::new(OverrideWriter::spawn(store.clone()));
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move { w.save(interval(1000 + i)) })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        writer.save(interval(777));
        let writer = std::sync::Arc::into_inner(writer).unwrap();
        writer.close().await;
        assert_eq!(store.load(), interval(777));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("cameras"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["porch.json"], "no temporary file is left");
    }

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
