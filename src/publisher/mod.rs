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
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS, Transport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use self::core::{OutboundMessage, PublisherCore, PublisherSettings, Qos};
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
    opts.set_max_packet_size(max_payload + PACKET_HEADROOM, max_payload + PACKET_HEADROOM);
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

/// What the network task reports.
enum Net {
    /// ConnAck received.
    Connected,
    /// A message on one of our subscriptions.
    Message(rumqttc::Publish),
    /// The connection failed or was lost; it is retried after `retry_in`.
    Down { error: String, retry_in: Duration },
}

/// Polls rumqttc's event loop in its own task. `EventLoop::poll` must not be
/// dropped mid-connect (it would open a second connection and fire our last
/// will), so it never sits in a `select!` with other work.
async fn drive(mut eventloop: rumqttc::EventLoop, net: mpsc::Sender<Net>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let report = match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_millis(250);
                Some(Net::Connected)
            }
            Ok(Event::Incoming(Packet::Publish(p))) => Some(Net::Message(p)),
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => None,
            Err(e) => {
                let retry_in = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                if net
                    .send(Net::Down {
                        error: e.to_string(),
                        retry_in,
                    })
                    .await
                    .is_err()
                {
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

/// Runs the publisher until `shutdown` fires; then publishes the offline states.
pub async fn run(
    mut core: PublisherCore,
    cfg: MqttConfig,
    url: String,
    max_payload: usize,
    mut events: mpsc::Receiver<BridgeEvent>,
    requests: mpsc::Sender<Request>,
    shutdown: CancellationToken,
) -> Result<(), PublisherError> {
    let opts = mqtt_options(&cfg, &url, &core.last_will(), max_payload)?;
    let (client, eventloop) = AsyncClient::new(opts, 256);
    let (net_tx, mut net) = mpsc::channel(256);
    let driver = tokio::spawn(drive(eventloop, net_tx));
    let mut queue: VecDeque<OutboundMessage> = VecDeque::new();
    let mut connected = false;
    loop {
        while let Some(m) = core.poll_outbound() {
            enqueue(&mut queue, m);
        }
        while let Some(r) = core.poll_request() {
            if let Err(mpsc::error::TrySendError::Full(Request::Command { camera, command }))
            | Err(mpsc::error::TrySendError::Closed(Request::Command { camera, command })) =
                requests.try_send(r)
            {
                core.on_event(BridgeEvent::CommandResult {
                    camera,
                    command: command.name(),
                    result: Err(CommandError::Busy(
                        "too many commands queued; try again".into(),
                    )),
                });
            }
        }
        while let Some(filter) = core.poll_unsubscribe() {
            if let Err(e) = client.try_unsubscribe(filter) {
                tracing::debug!(error = %e, "unsubscribe not queued");
            }
        }
        let front = queue.front().cloned();
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            report = net.recv() => match report {
                Some(Net::Connected) => {
                    tracing::info!(%url, "connected to MQTT broker");
                    connected = true;
                    let subs = core.subscriptions().into_iter().map(|t| rumqttc::SubscribeFilter::new(t, QoS::AtLeastOnce));
                    if let Err(e) = client.subscribe_many(subs).await {
                        tracing::warn!(error = %e, "subscribe failed");
                    }
                    core.on_connected(clock::now());
                }
                Some(Net::Message(p)) => core.on_message(&p.topic, &p.payload, p.retain),
                Some(Net::Down { error, retry_in }) => {
                    if connected {
                        tracing::warn!(%error, "MQTT connection lost; reconnecting");
                    } else {
                        tracing::warn!(%error, %url, "cannot reach MQTT broker; retrying in {retry_in:?}");
                    }
                    connected = false;
                }
                None => break,
            },
            Some(ev) = events.recv() => core.on_event(ev),
            () = clock::sleep_until(core.poll_timeout()) => core.handle_timeout(clock::now()),
            r = publish(&client, front.as_ref()), if front.is_some() && connected => match r {
                Ok(()) => { queue.pop_front(); }
                Err(e) => tracing::debug!(error = %e, "publish not queued"),
            },
        }
    }
    // Shutdown: offline states, then a clean disconnect, in a bounded time.
    core.on_shutdown();
    while let Some(m) = core.poll_outbound() {
        enqueue(&mut queue, m);
    }
    let flush = async {
        if connected {
            while let Some(m) = queue.pop_front() {
                let _ = publish(&client, Some(&m)).await;
            }
        }
        let _ = client.disconnect().await;
        // Keep draining reports so the network task can flush and see the disconnect.
        while net.recv().await.is_some() {}
    };
    if tokio::time::timeout(Duration::from_secs(2), flush)
        .await
        .is_err()
    {
        tracing::warn!("MQTT shutdown timed out; the broker will publish the last will");
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
