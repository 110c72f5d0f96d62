//! MQTT publishing: [`core`] decides what to publish, [`ha`] builds discovery,
//! [`topics`] parses commands; this module is the thin rumqttc glue.
//!
//! The glue keeps a bounded outgoing queue ([`outbox`]) in which a newer
//! snapshot replaces an unsent older one of the same camera, so a slow broker
//! costs memory only up to a limit and never stalls a camera session. Messages
//! are handed to rumqttc without awaiting, so none is sent twice, and the loop
//! never waits on the network task, so neither can block the other.
//!
//! Shutdown: the cameras stop first (their last command results come in), then
//! every camera is published `offline` with its state's `session` `stopped`,
//! then `bridge/state offline`; the loop waits until the broker acknowledged
//! all of it (at most [`SHUTDOWN_WAIT`]) and disconnects cleanly, so the last
//! will is not fired.

pub mod core;
pub mod ha;
pub mod outbox;
pub mod reconnect;
pub mod remote;
pub mod topics;

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS, Transport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use self::core::{DiscoveryRecord, OutboundMessage, PublisherCore, PublisherSettings, Qos};
pub use crate::bus::{BridgeEvent, Hub, Request};
use crate::config::{parse_broker_url, MqttConfig};
use crate::io::clock;
use crate::model::CommandError;
use outbox::{Acks, Outbox, Pumped};
use reconnect::{Failure, Reconnect};
use tokio::sync::broadcast;

/// Extra room in the MQTT packet limit beyond the snapshot cap.
const PACKET_HEADROOM: usize = 64 * 1024;

/// Errors that stop the publisher.
#[derive(Debug, thiserror::Error)]
pub enum PublisherError {
    /// Bad broker settings.
    #[error("mqtt.url: {0}")]
    Url(String),
    /// TLS setup failed.
    #[error("TLS setup: {0}")]
    Tls(String),
}

fn qos(q: Qos) -> QoS {
    match q {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
    }
}

/// Builds rumqttc options: client id, credentials, last will (if any), TLS,
/// packet size.
pub fn mqtt_options(
    cfg: &MqttConfig,
    url: &str,
    will: Option<&OutboundMessage>,
    max_payload: usize,
) -> Result<MqttOptions, PublisherError> {
    let (tls, host, port) = parse_broker_url(url).map_err(PublisherError::Url)?;
    let mut opts = MqttOptions::new(cfg.client_id.clone(), host, port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_clean_session(true);
    opts.set_max_packet_size(MAX_INCOMING, max_payload + PACKET_HEADROOM);
    if let Some(will) = will {
        opts.set_last_will(LastWill::new(
            will.topic.clone(),
            will.payload.clone(),
            qos(will.qos),
            will.retain,
        ));
    }
    if !cfg.username.is_empty() {
        opts.set_credentials(cfg.username.clone(), cfg.password.expose().to_string());
    }
    if tls {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| PublisherError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        opts.set_transport(Transport::Tls(rumqttc::TlsConfiguration::Rustls(Arc::new(
            config,
        ))));
    }
    Ok(opts)
}

/// Largest incoming MQTT packet accepted. A bigger one makes rumqttc drop the
/// connection (it cannot skip a packet), so the limit is far above any command
/// (commands are checked against their own, much smaller, limits and answered
/// with an event) and we subscribe to nothing but our command topics and HA's
/// birth topic, where no other device publishes.
pub const MAX_INCOMING: usize = 16 << 20;
/// How long shutdown waits for the broker to acknowledge the final publishes.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);
/// Requests rumqttc's client channel holds.
const CLIENT_CHANNEL: usize = 256;
/// When the client is full, try again after this.
const RETRY_FULL: Duration = Duration::from_millis(5);

/// What the network task reports.
enum Net {
    /// ConnAck received.
    Connected,
    /// A message on one of our subscriptions.
    Message(rumqttc::Publish),
    /// A publish was written to the socket (packet id; 0 for QoS 0).
    Sent(u16),
    /// The broker acknowledged a QoS 1 publish.
    Acked(u16),
    /// The connection failed or was lost; it is retried after `retry_in`.
    Down { error: String, retry_in: Duration },
}

/// Polls rumqttc's event loop in its own task. `EventLoop::poll` must not be
/// dropped mid-connect (it would open a second connection and fire our last
/// will), so it never sits in a `select!` with other work. The publisher loop
/// never waits on this task, so its reports may wait for room in `net`.
async fn drive(mut eventloop: rumqttc::EventLoop, net: mpsc::Sender<Net>) {
    let mut policy = Reconnect::default();
    loop {
        let report = match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                policy.on_connected(clock::now());
                Net::Connected
            }
            Ok(Event::Incoming(Packet::Publish(p))) => Net::Message(p),
            Ok(Event::Incoming(Packet::PubAck(a))) => Net::Acked(a.pkid),
            Ok(Event::Outgoing(rumqttc::Outgoing::Publish(pkid))) => Net::Sent(pkid),
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => continue,
            Err(e) => {
                let retry_in = policy.on_failure(clock::now(), Failure::of(&e));
                let error = match &e {
                    rumqttc::ConnectionError::MqttState(rumqttc::StateError::Deserialization(
                        rumqttc::mqttbytes::Error::PayloadSizeLimitExceeded(size),
                    )) => format!(
                        "a message of {size} bytes arrived on a subscribed topic, over the {MAX_INCOMING}-byte limit; the client had to drop the connection"
                    ),
                    other => other.to_string(),
                };
                if net.send(Net::Down { error, retry_in }).await.is_err() {
                    return;
                }
                tokio::time::sleep(retry_in).await;
                continue;
            }
        };
        if net.send(report).await.is_err() {
            return;
        }
    }
}

/// The next tick of `interval`, or never.
async fn tick(interval: Option<&mut tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Saves the discovery record next to the other state (atomic; blocking, small).
fn save_record(path: &std::path::Path, record: &DiscoveryRecord) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(&tmp, path)
}

/// Reads the discovery record; a missing file is an empty record, an
/// unreadable one is logged and treated as empty.
pub fn load_record(path: &std::path::Path) -> DiscoveryRecord {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable discovery record");
            DiscoveryRecord::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DiscoveryRecord::default(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the discovery record");
            DiscoveryRecord::default()
        }
    }
}

/// Saves discovery records in the background, one at a time, in order.
#[derive(Default)]
struct RecordSaver {
    saving: Option<tokio::task::JoinHandle<()>>,
}

impl RecordSaver {
    fn save(&mut self, path: std::path::PathBuf, record: DiscoveryRecord) {
        let previous = self.saving.take();
        self.saving = Some(tokio::spawn(async move {
            if let Some(p) = previous {
                let _ = p.await;
            }
            let saved = tokio::task::spawn_blocking(move || {
                save_record(&path, &record).map_err(|e| (path, e))
            })
            .await;
            if let Ok(Err((path, e))) = saved {
                tracing::warn!(path = %path.display(), error = %e, "cannot save the discovery record; removed cameras may keep their entities");
            }
        }));
    }

    async fn finish(self) {
        if let Some(s) = self.saving {
            let _ = s.await;
        }
    }
}

/// The publisher loop's connection-side state.
struct Link {
    client: AsyncClient,
    outbox: Outbox,
    acks: Acks,
    connected: bool,
    /// The client was full at the last pump.
    blocked: bool,
}

impl Link {
    /// Hands what is queued to the client (while connected).
    fn pump(&mut self) {
        self.blocked =
            self.connected && self.outbox.pump(&self.client, &mut self.acks) == Pumped::Blocked;
    }

    /// The connection went down: what is queued or in flight is gone; the
    /// next connect republishes what matters.
    fn down(&mut self) {
        self.connected = false;
        self.blocked = false;
        self.outbox.clear();
        self.acks.reset();
    }
}

/// Moves the core's output on: publishes to the outbox, requests to the
/// supervisor (a full supervisor queue answers the command with `busy`).
fn collect(
    core: &mut PublisherCore,
    hub: &Hub,
    link: &mut Link,
    requests: &mpsc::Sender<Request>,
    saver: &mut RecordSaver,
    record_path: Option<&std::path::Path>,
) {
    loop {
        while let Some(r) = core.poll_request() {
            if let Err(
                mpsc::error::TrySendError::Full(Request::Command(r))
                | mpsc::error::TrySendError::Closed(Request::Command(r)),
            ) = requests.try_send(r)
            {
                core.on_event(
                    clock::now(),
                    BridgeEvent::CommandResult {
                        camera: r.camera,
                        command: r.input.kind(),
                        result: Err(CommandError::Busy(
                            "too many commands queued; try again".into(),
                        )),
                        playback: None,
                    },
                );
            }
        }
        let mut any = false;
        while let Some(m) = core.poll_outbound() {
            any = true;
            hub.status().published(1);
            link.outbox.push(m);
        }
        if !any {
            break;
        }
    }
    if let (Some(record), Some(path)) = (core.poll_record(), record_path) {
        saver.save(path.to_path_buf(), record);
    }
}

/// Runs the publisher until `shutdown` fires; then publishes the offline
/// states and waits (at most [`SHUTDOWN_WAIT`]) until the broker has them.
/// Cancel `shutdown` only after the cameras stopped, so their last command
/// results are published too. `events` is the hub's broadcast, subscribed
/// before any camera started; `record_path` is where the discovery record is
/// kept (`None`: not kept).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    mut core: PublisherCore,
    cfg: MqttConfig,
    url: String,
    max_payload: usize,
    hub: Hub,
    mut events: broadcast::Receiver<BridgeEvent>,
    shutdown: CancellationToken,
    record_path: Option<std::path::PathBuf>,
    health_every: Option<Duration>,
) -> Result<(), PublisherError> {
    let requests = hub.requests().clone();
    let mut health = health_every.map(|every| {
        let mut t = tokio::time::interval(every);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let opts = mqtt_options(&cfg, &url, Some(&core.last_will()), max_payload)?;
    let (client, eventloop) = AsyncClient::new(opts, CLIENT_CHANNEL);
    let (net_tx, mut net) = mpsc::channel(256);
    let driver = tokio::spawn(drive(eventloop, net_tx));
    let mut link = Link {
        client,
        outbox: Outbox::default(),
        acks: Acks::default(),
        connected: false,
        blocked: false,
    };
    let mut saver = RecordSaver::default();
    let record_path = record_path.as_deref();
    let mut events_open = true;
    loop {
        collect(
            &mut core,
            &hub,
            &mut link,
            &requests,
            &mut saver,
            record_path,
        );
        link.pump();
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            report = net.recv() => match report {
                Some(Net::Connected) => {
                    tracing::info!(%url, "connected to MQTT broker");
                    link.down();
                    link.connected = true;
                    hub.status().set_mqtt_connected(true);
                    let subs = core
                        .subscriptions()
                        .into_iter()
                        .map(|t| rumqttc::SubscribeFilter::new(t, QoS::AtLeastOnce));
                    // Right after ConnAck the client's channel is empty.
                    if let Err(e) = link.client.try_subscribe_many(subs) {
                        tracing::warn!(error = %e, "subscribe failed");
                    }
                    core.on_connected(clock::now());
                }
                Some(Net::Message(p)) => core.on_message(&p.topic, &p.payload, p.retain),
                Some(Net::Sent(pkid)) => link.acks.on_sent(pkid),
                Some(Net::Acked(pkid)) => link.acks.on_acked(pkid),
                Some(Net::Down { error, retry_in }) => {
                    if link.connected {
                        tracing::warn!(%error, "MQTT connection lost; reconnecting in {retry_in:?}");
                    } else {
                        tracing::warn!(%error, %url, "cannot reach MQTT broker; retrying in {retry_in:?}");
                    }
                    link.down();
                    hub.status().set_mqtt_connected(false);
                    core.on_disconnected();
                }
                None => break,
            },
            ev = events.recv(), if events_open => match ev {
                Ok(ev) => core.on_event(clock::now(), ev),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(lost = n, "the MQTT publisher fell behind the cameras; republishing every camera from the hub's view (lost command results get no event)");
                    core.resync(clock::now(), hub.views());
                }
                Err(broadcast::error::RecvError::Closed) => events_open = false,
            },
            () = clock::sleep_until(core.poll_timeout()) => core.handle_timeout(clock::now()),
            _ = tick(health.as_mut()) => {
                let report = crate::bus::health::report(&hub);
                // HealthReport holds numbers and ids only; it serialises infallibly.
                core.on_health(serde_json::to_string(&report).unwrap_or_default());
            }
            () = tokio::time::sleep(RETRY_FULL), if link.blocked => {}
        }
    }
    // What the cameras sent before they stopped comes first.
    loop {
        match events.try_recv() {
            Ok(ev) => core.on_event(clock::now(), ev),
            Err(broadcast::error::TryRecvError::Lagged(_)) => {
                core.resync(clock::now(), hub.views());
            }
            Err(_) => break,
        }
    }
    collect(
        &mut core,
        &hub,
        &mut link,
        &requests,
        &mut saver,
        record_path,
    );
    core.on_shutdown();
    let finals: Vec<OutboundMessage> = std::iter::from_fn(|| core.poll_outbound()).collect();
    link.outbox.push_final(finals);
    let settled = tokio::time::timeout(SHUTDOWN_WAIT, async {
        while link.connected {
            link.pump();
            if link.outbox.is_empty() && link.acks.settled() {
                return true;
            }
            tokio::select! {
                report = net.recv() => match report {
                    Some(Net::Sent(pkid)) => link.acks.on_sent(pkid),
                    Some(Net::Acked(pkid)) => link.acks.on_acked(pkid),
                    Some(Net::Down { .. }) | None => link.down(),
                    // Commands arriving now are not carried out.
                    Some(Net::Message(_) | Net::Connected) => {}
                },
                () = tokio::time::sleep(RETRY_FULL), if link.blocked => {}
            }
        }
        false
    })
    .await;
    match settled {
        Ok(true) => {
            // A clean DISCONNECT: the broker discards the last will.
            let disconnect = async {
                while link.client.try_disconnect().is_err() {
                    tokio::select! {
                        r = net.recv() => if r.is_none() { return; },
                        () = tokio::time::sleep(RETRY_FULL) => {}
                    }
                }
                // The network task ends once DISCONNECT is written.
                while net.recv().await.is_some() {}
            };
            if tokio::time::timeout(SHUTDOWN_WAIT, disconnect).await.is_err() {
                tracing::warn!("MQTT disconnect timed out; the broker will publish the last will");
            } else {
                tracing::info!("offline states published; disconnected from MQTT broker");
            }
        }
        Ok(false) => tracing::warn!("not connected at shutdown; the broker publishes the last will"),
        Err(_) => tracing::warn!(
            queued = link.outbox.len(),
            "MQTT shutdown timed out before the broker acknowledged the offline states; it will publish the last will"
        ),
    }
    saver.finish().await;
    driver.abort();
    Ok(())
}
