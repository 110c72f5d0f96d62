//! MQTT publishing: [`core`] decides what to publish, [`ha`] builds discovery,
//! [`topics`] parses commands; this module is the thin rumqttc glue.
//!
//! The glue keeps a bounded outgoing queue in which a newer snapshot replaces
//! an unsent older one of the same camera, so a slow broker costs memory only up
//! to a limit and never stalls a camera session.

pub mod core;
pub mod ha;
pub mod topics;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS, Transport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use self::core::{DiscoveryRecord, OutboundMessage, PublisherCore, PublisherSettings, Qos};
pub use crate::bus::{BridgeEvent, Request};
use crate::config::{parse_broker_url, MqttConfig};
use crate::io::clock;
use crate::model::CommandError;

/// Messages waiting for rumqttc at most (older non-retained ones go first).
const MAX_QUEUE: usize = 4096;
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

/// Builds rumqttc options: client id, credentials, last will, TLS, packet size.
pub fn mqtt_options(
    cfg: &MqttConfig,
    url: &str,
    will: &OutboundMessage,
    max_payload: usize,
) -> Result<MqttOptions, PublisherError> {
    let (tls, host, port) = parse_broker_url(url).map_err(PublisherError::Url)?;
    let mut opts = MqttOptions::new(cfg.client_id.clone(), host, port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_clean_session(true);
    opts.set_max_packet_size(MAX_INCOMING, max_payload + PACKET_HEADROOM);
    opts.set_last_will(LastWill::new(
        will.topic.clone(),
        will.payload.clone(),
        qos(will.qos),
        will.retain,
    ));
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

/// Adds `m` to the queue: a snapshot replaces an unsent one for the same topic;
/// when full, the oldest message is dropped.
fn enqueue(queue: &mut VecDeque<OutboundMessage>, m: OutboundMessage) {
    if m.qos == Qos::AtMostOnce {
        if let Some(old) = queue.iter_mut().find(|q| q.topic == m.topic) {
            *old = m;
            return;
        }
    }
    if queue.len() >= MAX_QUEUE {
        queue.pop_front();
        tracing::warn!("MQTT publish queue full; dropped the oldest message");
    }
    queue.push_back(m);
}

/// Largest incoming MQTT packet accepted. A bigger one makes rumqttc drop the
/// connection (it cannot skip a packet), so the limit is far above any command
/// (commands are checked against their own, much smaller, limits and answered
/// with an event) and we subscribe to nothing but our command topics and HA's
/// birth topic, where no other device publishes.
pub const MAX_INCOMING: usize = 16 << 20;
/// A connection that lasted this long counts as good: the reconnect backoff
/// starts over. One that dies sooner (a broker that kicks us out at once)
/// keeps growing the backoff instead of looping.
const STABLE_AFTER: Duration = Duration::from_secs(30);
/// Reconnect delays: from this, doubling, to [`BACKOFF_CAP`].
const BACKOFF_START: Duration = Duration::from_millis(250);
/// The longest reconnect delay.
const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// How long shutdown waits for the broker to acknowledge the final publishes.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// What the network task reports.
enum Net {
    /// ConnAck received.
    Connected,
    /// A message on one of our subscriptions.
    Message(rumqttc::Publish),
    /// The connection failed or was lost; it is retried after `retry_in`.
    Down { error: String, retry_in: Duration },
}

/// QoS 1 publishes the network task saw leave and acknowledged, so shutdown
/// can wait until its final messages are safely at the broker.
#[derive(Debug, Default)]
struct Acks {
    /// QoS 1 publishes written to the socket.
    sent: AtomicU64,
    /// Packet id of the last one written.
    last_sent: AtomicU64,
    /// Packet id of the last PubAck (the broker acknowledges in order).
    last_acked: AtomicU64,
}

/// Polls rumqttc's event loop in its own task. `EventLoop::poll` must not be
/// dropped mid-connect (it would open a second connection and fire our last
/// will), so it never sits in a `select!` with other work.
async fn drive(mut eventloop: rumqttc::EventLoop, net: mpsc::Sender<Net>, acks: Arc<Acks>) {
    let mut backoff = BACKOFF_START;
    let mut up_since = None;
    loop {
        let report = match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                up_since = Some(clock::now());
                Some(Net::Connected)
            }
            Ok(Event::Incoming(Packet::Publish(p))) => Some(Net::Message(p)),
            Ok(Event::Incoming(Packet::PubAck(a))) => {
                acks.last_acked.store(u64::from(a.pkid), Ordering::SeqCst);
                None
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Publish(pkid))) if pkid != 0 => {
                acks.last_sent.store(u64::from(pkid), Ordering::SeqCst);
                acks.sent.fetch_add(1, Ordering::SeqCst);
                None
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => None,
            Err(e) => {
                let lasted = up_since
                    .take()
                    .map(|t: std::time::Instant| clock::now().duration_since(t));
                let (retry_in, next) = reconnect_delay(backoff, lasted);
                backoff = next;
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
                None
            }
        };
        if let Some(report) = report {
            if net.send(report).await.is_err() {
                return;
            }
        }
    }
}

/// The delay before the next connection attempt and the one after it, given
/// the current delay and how long the lost connection lasted (`None`: it never
/// came up). Only a connection that lasted [`STABLE_AFTER`] starts over.
fn reconnect_delay(current: Duration, lasted: Option<Duration>) -> (Duration, Duration) {
    let current = if lasted.is_some_and(|d| d >= STABLE_AFTER) {
        BACKOFF_START
    } else {
        current
    };
    (current, (current * 2).min(BACKOFF_CAP))
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

/// Runs the publisher until `shutdown` fires; then publishes the offline
/// states and waits (at most 2 s) until the broker has them.
/// `record_path` is where the discovery record is kept (`None`: not kept).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    mut core: PublisherCore,
    cfg: MqttConfig,
    url: String,
    max_payload: usize,
    mut events: mpsc::Receiver<BridgeEvent>,
    requests: mpsc::Sender<Request>,
    shutdown: CancellationToken,
    record_path: Option<std::path::PathBuf>,
) -> Result<(), PublisherError> {
    let opts = mqtt_options(&cfg, &url, &core.last_will(), max_payload)?;
    let (client, eventloop) = AsyncClient::new(opts, 256);
    let (net_tx, mut net) = mpsc::channel(256);
    let acks = Arc::new(Acks::default());
    let driver = tokio::spawn(drive(eventloop, net_tx, acks.clone()));
    let mut queue: VecDeque<OutboundMessage> = VecDeque::new();
    let mut connected = false;
    let mut requested_qos1: u64 = 0;
    let mut saving: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        while let Some(m) = core.poll_outbound() {
            enqueue(&mut queue, m);
        }
        while let Some(r) = core.poll_request() {
            if let Err(mpsc::error::TrySendError::Full(Request::Command { camera, command }))
            | Err(mpsc::error::TrySendError::Closed(Request::Command { camera, command })) =
                requests.try_send(r)
            {
                core.on_event(
                    clock::now(),
                    BridgeEvent::CommandResult {
                        camera,
                        command: command.name(),
                        result: Err(CommandError::Busy(
                            "too many commands queued; try again".into(),
                        )),
                    },
                );
            }
        }
        if let (Some(record), Some(path)) = (core.poll_record(), record_path.clone()) {
            // One save at a time, in order.
            let previous = saving.take();
            saving = Some(tokio::spawn(async move {
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
        let front = queue.front().cloned();
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            report = net.recv() => match report {
                Some(Net::Connected) => {
                    tracing::info!(%url, "connected to MQTT broker");
                    connected = true;
                    queue.clear();
                    let subs = core.subscriptions().into_iter().map(|t| rumqttc::SubscribeFilter::new(t, QoS::AtLeastOnce));
                    if let Err(e) = client.subscribe_many(subs).await {
                        tracing::warn!(error = %e, "subscribe failed");
                    }
                    core.on_connected(clock::now());
                }
                Some(Net::Message(p)) => core.on_message(&p.topic, &p.payload, p.retain),
                Some(Net::Down { error, retry_in }) => {
                    if connected {
                        tracing::warn!(%error, "MQTT connection lost; reconnecting in {retry_in:?}");
                    } else {
                        tracing::warn!(%error, %url, "cannot reach MQTT broker; retrying in {retry_in:?}");
                    }
                    connected = false;
                    core.on_disconnected();
                    queue.clear();
                }
                None => break,
            },
            Some(ev) = events.recv() => core.on_event(clock::now(), ev),
            () = clock::sleep_until(core.poll_timeout()) => core.handle_timeout(clock::now()),
            r = publish(&client, front.as_ref()), if front.is_some() && connected => match r {
                Ok(()) => {
                    if let Some(m) = queue.pop_front() {
                        requested_qos1 += u64::from(m.qos == Qos::AtLeastOnce);
                    }
                }
                Err(e) => tracing::debug!(error = %e, "publish not queued"),
            },
        }
    }
    // Shutdown: offline states, wait until the broker acknowledged them, then
    // a clean disconnect; all within SHUTDOWN_WAIT.
    core.on_shutdown();
    while let Some(m) = core.poll_outbound() {
        enqueue(&mut queue, m);
    }
    let flush = async {
        if connected {
            while let Some(m) = queue.pop_front() {
                if publish(&client, Some(&m)).await.is_ok() {
                    requested_qos1 += u64::from(m.qos == Qos::AtLeastOnce);
                }
            }
            // Every QoS 1 publish has left; the broker acks in order, so the
            // ack of the last one means all of them arrived.
            loop {
                let sent = acks.sent.load(Ordering::SeqCst);
                let last = acks.last_sent.load(Ordering::SeqCst);
                if sent >= requested_qos1 && acks.last_acked.load(Ordering::SeqCst) == last {
                    break;
                }
                tokio::select! {
                    _ = net.recv() => {}
                    () = tokio::time::sleep(Duration::from_millis(5)) => {}
                }
            }
        }
        let _ = client.disconnect().await;
        // Keep draining reports so the network task can flush and see the disconnect.
        while net.recv().await.is_some() {}
    };
    if tokio::time::timeout(SHUTDOWN_WAIT, flush).await.is_err() {
        tracing::warn!("MQTT shutdown timed out; the broker will publish the last will");
    }
    if let Some(s) = saving {
        let _ = s.await;
    }
    driver.abort();
    Ok(())
}

async fn publish(
    client: &AsyncClient,
    m: Option<&OutboundMessage>,
) -> Result<(), rumqttc::ClientError> {
    match m {
        Some(m) => {
            client
                .publish_bytes(m.topic.clone(), qos(m.qos), m.retain, m.payload.clone())
                .await
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_that_dies_at_once_does_not_reset_the_backoff() {
        let mut delay = BACKOFF_START;
        let mut waits = Vec::new();
        for _ in 0..10 {
            // Connected, then kicked out after a second: every time.
            let (wait, next) = reconnect_delay(delay, Some(Duration::from_secs(1)));
            waits.push(wait);
            delay = next;
        }
        assert_eq!(waits[0], BACKOFF_START);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]), "{waits:?}");
        assert_eq!(*waits.last().unwrap(), BACKOFF_CAP);
        let total: Duration = waits.iter().sum();
        assert!(
            total >= Duration::from_secs(100),
            "ten retries take {total:?}, not a loop"
        );
        // A connection that held for a while starts over.
        let (wait, _) = reconnect_delay(BACKOFF_CAP, Some(STABLE_AFTER));
        assert_eq!(wait, BACKOFF_START);
        // Never connected: keeps growing.
        let (wait, next) = reconnect_delay(Duration::from_secs(4), None);
        assert_eq!(
            (wait, next),
            (Duration::from_secs(4), Duration::from_secs(8))
        );
    }
}
