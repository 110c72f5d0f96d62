//! Asking a running bridge over MQTT, so the one-shot CLI commands do not
//! take a camera over from it (a camera serves one session at a time: the
//! bridge would show it offline while the CLI holds it).
//!
//! A bridge runs for a config when its broker holds `<base>/bridge/state`
//! retained as `online` (the bridge's last will turns it `offline`). Its
//! retained `bridge/info` lists the cameras it serves, by id and UID.

use std::time::Duration;

use bytes::Bytes;
use rumqttc::{AsyncClient, Event, Packet, QoS};
use serde_json::Value;
use tokio::sync::mpsc;

use super::topics::Topics;
use super::{mqtt_options, PublisherError};
use crate::config::MqttConfig;

/// A connection to the broker of a bridge that is running.
pub struct RemoteBridge {
    client: AsyncClient,
    incoming: mpsc::Receiver<rumqttc::Publish>,
    task: tokio::task::JoinHandle<()>,
    topics: Topics,
    /// The bridge's retained `bridge/info`.
    info: Value,
    /// The broker, for messages (no credentials in it).
    pub url: String,
}

/// Why asking the bridge failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The bridge answered the command with an error.
    #[error("the running bridge says: {0}")]
    Refused(String),
    /// No answer in time.
    #[error("the running bridge did not answer within {0:?}")]
    Timeout(Duration),
    /// The broker connection broke.
    #[error("lost the connection to the broker")]
    Lost,
}

impl RemoteBridge {
    /// Connects to `cfg`'s broker and looks for a running bridge, waiting at
    /// most `wait`. `None` when the broker cannot be reached or no bridge is
    /// online there (then the caller talks to the camera itself).
    pub async fn find(cfg: &MqttConfig, wait: Duration) -> Option<Self> {
        if cfg.url == "embedded" {
            return None;
        }
        let mut cli_cfg = cfg.clone();
        cli_cfg.client_id = format!("{}-cli-{}", cfg.client_id, std::process::id());
        let opts = match mqtt_options(&cli_cfg, &cfg.url, None, 16 << 20) {
            Ok(o) => o,
            Err(PublisherError::Url(_) | PublisherError::Tls(_)) => return None,
        };
        let (client, mut eventloop) = AsyncClient::new(opts, 16);
        let (tx, incoming) = mpsc::channel(64);
        let (up_tx, up) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut up_tx = Some(up_tx);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        if let Some(t) = up_tx.take() {
                            let _ = t.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send(p).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    // No retries: a broker that is not there means no bridge.
                    Err(_) => return,
                }
            }
        });
        let found = tokio::time::timeout(wait, async {
            up.await.ok()?;
            let topics = Topics::new(&cfg.base_topic);
            client
                .subscribe(topics.bridge_state(), QoS::AtLeastOnce)
                .await
                .ok()?;
            client
                .subscribe(topics.bridge_info(), QoS::AtLeastOnce)
                .await
                .ok()?;
            Some(topics)
        })
        .await
        .ok()
        .flatten();
        let Some(topics) = found else {
            task.abort();
            return None;
        };
        let mut this = Self {
            client,
            incoming,
            task,
            topics,
            info: Value::Null,
            url: cfg.url.clone(),
        };
        let (mut online, mut info) = (None, None);
        let _ = tokio::time::timeout(wait, async {
            while online.is_none() || (online == Some(true) && info.is_none()) {
                let Some(p) = this.incoming.recv().await else {
                    return;
                };
                if p.topic == this.topics.bridge_state() {
                    online = Some(&p.payload[..] == b"online");
                } else if p.topic == this.topics.bridge_info() {
                    info = serde_json::from_slice::<Value>(&p.payload).ok();
                }
            }
        })
        .await;
        match (online, info) {
            (Some(true), Some(info)) => {
                this.info = info;
                Some(this)
            }
            _ => {
                this.close().await;
                None
            }
        }
    }

    /// The id of the bridge's camera called `name` (its id or UID, hyphens
    /// optional).
    pub fn camera_id(&self, name: &str) -> Option<String> {
        let compact = |s: &str| s.replace('-', "").to_ascii_uppercase();
        self.info["cameras"].as_array()?.iter().find_map(|c| {
            let id = c["id"].as_str()?;
            let uid = c["uid"].as_str().unwrap_or_default();
            (id == name || (!uid.is_empty() && compact(uid) == compact(name)))
                .then(|| id.to_string())
        })
    }

    /// Asks the bridge for a fresh snapshot of camera `id` (`set/snapshot`)
    /// and returns the JPEG it publishes.
    pub async fn snapshot(&mut self, id: &str, timeout: Duration) -> Result<Bytes, RemoteError> {
        let picture = self.topics.camera(id, "snapshot");
        let event = self.topics.camera(id, "event");
        for t in [&picture, &event] {
            self.client
                .subscribe(t.clone(), QoS::AtLeastOnce)
                .await
                .map_err(|_| RemoteError::Lost)?;
        }
        // The broker handles our SUBSCRIBEs before this PUBLISH.
        self.client
            .publish(
                self.topics.camera_set(id, "snapshot"),
                QoS::AtLeastOnce,
                false,
                "",
            )
            .await
            .map_err(|_| RemoteError::Lost)?;
        let (mut jpeg, mut done) = (None, false);
        tokio::time::timeout(timeout, async {
            while jpeg.is_none() || !done {
                let p = self.incoming.recv().await.ok_or(RemoteError::Lost)?;
                if p.topic == picture && !p.retain {
                    jpeg = Some(p.payload);
                } else if p.topic == event {
                    let ev: Value = serde_json::from_slice(&p.payload).unwrap_or_default();
                    if ev["command"] != "snapshot" {
                        continue;
                    }
                    if ev["ok"] != true {
                        let why = ev["error"].as_str().unwrap_or("failed").to_string();
                        return Err(RemoteError::Refused(why));
                    }
                    done = true;
                }
            }
            Ok(())
        })
        .await
        .map_err(|_| RemoteError::Timeout(timeout))??;
        jpeg.ok_or(RemoteError::Lost)
    }

    /// Disconnects.
    /// Publishes `payload` to the camera's `set/<command>` and waits for the
    /// event that answers it (its JSON).
    pub async fn command(
        &mut self,
        id: &str,
        command: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Value, RemoteError> {
        let event = self.topics.camera(id, "event");
        self.client
            .subscribe(event.clone(), QoS::AtLeastOnce)
            .await
            .map_err(|_| RemoteError::Lost)?;
        self.client
            .publish(
                self.topics.camera_set(id, command),
                QoS::AtLeastOnce,
                false,
                payload,
            )
            .await
            .map_err(|_| RemoteError::Lost)?;
        tokio::time::timeout(timeout, async {
            loop {
                let p = self.incoming.recv().await.ok_or(RemoteError::Lost)?;
                if p.topic != event || p.retain {
                    continue;
                }
                let ev: Value = serde_json::from_slice(&p.payload).unwrap_or_default();
                if ev["command"] != command {
                    continue;
                }
                if ev["ok"] != true {
                    let why = ev["error"].as_str().unwrap_or("failed").to_string();
                    return Err(RemoteError::Refused(why));
                }
                return Ok(ev);
            }
        })
        .await
        .map_err(|_| RemoteError::Timeout(timeout))?
    }

    pub async fn close(self) {
        let Self {
            client, mut task, ..
        } = self;
        let _ = client.disconnect().await;
        drop(client);
        if tokio::time::timeout(Duration::from_secs(1), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
