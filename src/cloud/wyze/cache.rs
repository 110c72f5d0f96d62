//! `wyze.json` in the state directory: the tokens and the last device list,
//! so a restart reuses the token (no login) and cameras keep their ENR and IP
//! while the cloud is down.
//!
//! The file holds secrets in clear (that is its point), so it is created
//! with mode 0600 on unix and replaced atomically (temp file + rename). Its
//! tokens are used only by the account that wrote them ([`account_tag`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::api::TokenPair;
use super::WyzeCamera;
use crate::secret::Secret;

/// File name inside the state directory.
pub const FILE_NAME: &str = "wyze.json";
const VERSION: u32 = 1;

/// Tokens with the time they were issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTokens {
    /// The pair.
    pub pair: TokenPair,
    /// When the pair was issued (Unix seconds): refresh is due ~23 h later.
    pub issued_at: u64,
}

/// What the cache holds, with secrets as [`Secret`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Which account wrote it ([`account_tag`]).
    pub account: String,
    /// The `phone_id` this install sends (kept stable across restarts).
    pub phone_id: String,
    /// The last tokens.
    pub tokens: Option<StoredTokens>,
    /// The last device list.
    pub cameras: Vec<WyzeCamera>,
    /// When that list was fetched (Unix seconds).
    pub cameras_at: Option<u64>,
}

/// A tag naming the account and cloud (e-mail, key id, hosts), so tokens of
/// another account or another cloud are never reused. Holds no secret.
pub fn account_tag(email: &str, key_id: &str, auth_url: &str, api_url: &str) -> String {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    for part in [
        email.trim().to_lowercase().as_str(),
        key_id,
        auth_url,
        api_url,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(10)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Serialize, Deserialize)]
struct FileForm {
    version: u32,
    account: String,
    phone_id: String,
    tokens: Option<FileTokens>,
    cameras: Vec<FileCamera>,
    cameras_at: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct FileTokens {
    access_token: String,
    refresh_token: String,
    user_id: String,
    issued_at: u64,
}

#[derive(Serialize, Deserialize)]
struct FileCamera {
    nickname: String,
    mac: String,
    enr: String,
    product_model: String,
    firmware_ver: String,
    online: bool,
    uid: String,
    ip: String,
    dtls: bool,
    parent_dtls: bool,
    parent_enr: Option<String>,
    parent_mac: Option<String>,
}

impl From<&WyzeCamera> for FileCamera {
    fn from(c: &WyzeCamera) -> Self {
        Self {
            nickname: c.nickname.clone(),
            mac: c.mac.clone(),
            enr: c.enr.expose().to_string(),
            product_model: c.product_model.clone(),
            firmware_ver: c.firmware_ver.clone(),
            online: c.online,
            uid: c.uid.clone(),
            ip: c.ip.clone(),
            dtls: c.dtls,
            parent_dtls: c.parent_dtls,
            parent_enr: c.parent_enr.as_ref().map(|s| s.expose().to_string()),
            parent_mac: c.parent_mac.clone(),
        }
    }
}

impl From<FileCamera> for WyzeCamera {
    fn from(c: FileCamera) -> Self {
        Self {
            nickname: c.nickname,
            mac: c.mac,
            enr: Secret::new(c.enr),
            product_model: c.product_model,
            firmware_ver: c.firmware_ver,
            online: c.online,
            uid: c.uid,
            ip: c.ip,
            dtls: c.dtls,
            parent_dtls: c.parent_dtls,
            parent_enr: c.parent_enr.map(Secret::new),
            parent_mac: c.parent_mac,
        }
    }
}

/// The cache file.
#[derive(Debug, Clone)]
pub struct Cache {
    path: PathBuf,
}

impl Cache {
    /// `wyze.json` under `state_dir`.
    pub fn in_dir(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(FILE_NAME),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads it; `None` when missing, unreadable or of another version (a
    /// warning says which, without any content).
    pub fn load(&self) -> Option<Snapshot> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot read the Wyze cache");
                return None;
            }
        };
        let form: FileForm = match serde_json::from_slice(&bytes) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(path = %self.path.display(), line = e.line(), "ignoring a malformed Wyze cache");
                return None;
            }
        };
        if form.version != VERSION {
            return None;
        }
        Some(Snapshot {
            account: form.account,
            phone_id: form.phone_id,
            tokens: form.tokens.map(|t| StoredTokens {
                pair: TokenPair {
                    access: Secret::new(t.access_token),
                    refresh: Secret::new(t.refresh_token),
                    user_id: t.user_id,
                },
                issued_at: t.issued_at,
            }),
            cameras: form.cameras.into_iter().map(WyzeCamera::from).collect(),
            cameras_at: form.cameras_at,
        })
    }

    /// Writes it atomically: a 0600 temp file beside it, then a rename.
    pub fn store(&self, snap: &Snapshot) -> std::io::Result<()> {
        let form = FileForm {
            version: VERSION,
            account: snap.account.clone(),
            phone_id: snap.phone_id.clone(),
            tokens: snap.tokens.as_ref().map(|t| FileTokens {
                access_token: t.pair.access.expose().to_string(),
                refresh_token: t.pair.refresh.expose().to_string(),
                user_id: t.pair.user_id.clone(),
                issued_at: t.issued_at,
            }),
            cameras: snap.cameras.iter().map(FileCamera::from).collect(),
            cameras_at: snap.cameras_at,
        };
        let bytes = serde_json::to_vec_pretty(&form)?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        // A stale temp file may have other permissions: start afresh.
        let _ = std::fs::remove_file(&tmp);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            account: account_tag("a@b.c", "kid", "https://a", "https://b"),
            phone_id: "phone".into(),
            tokens: Some(StoredTokens {
                pair: TokenPair {
                    access: Secret::new("at"),
                    refresh: Secret::new("rt"),
                    user_id: "u".into(),
                },
                issued_at: 42,
            }),
            cameras: vec![WyzeCamera {
                nickname: "Garage".into(),
                mac: "D03F27000001".into(),
                enr: Secret::new("enr-1"),
                product_model: "HL_CAM4".into(),
                firmware_ver: "4.52.9.4188".into(),
                online: true,
                uid: "HSBJYB5HSETGCDWD111A".into(),
                ip: "192.168.1.100".into(),
                dtls: true,
                parent_dtls: false,
                parent_enr: Some(Secret::new("penr")),
                parent_mac: Some("D03F27BA5E01".into()),
            }],
            cameras_at: Some(43),
        }
    }

    #[test]
    fn round_trips_tokens_and_cameras_with_their_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::in_dir(&dir.path().join("state"));
        assert_eq!(cache.load(), None);
        cache.store(&snapshot()).unwrap();
        assert_eq!(cache.load(), Some(snapshot()));
        assert!(!cache.path().with_extension("json.tmp").exists());
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::in_dir(dir.path());
        cache.store(&snapshot()).unwrap();
        cache.store(&snapshot()).unwrap();
        let mode = std::fs::metadata(cache.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_malformed_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::in_dir(dir.path());
        std::fs::write(cache.path(), b"{not json").unwrap();
        assert_eq!(cache.load(), None);
    }

    #[test]
    fn the_account_tag_changes_with_the_account_and_hides_nothing_secret() {
        let a = account_tag("a@b.c", "kid", "https://a", "https://b");
        assert_eq!(a, account_tag("A@B.C ", "kid", "https://a", "https://b"));
        assert_ne!(a, account_tag("x@b.c", "kid", "https://a", "https://b"));
        assert_ne!(a, account_tag("a@b.c", "kid2", "https://a", "https://b"));
        assert_eq!(a.len(), 20);
    }
}
