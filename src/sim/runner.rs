//! Runs simulated cameras: [`run_device`] is the device loop (over real or
//! in-memory sockets), [`SimCamera`] binds real UDP for `simulate`, `demo` and
//! the end-to-end tests, and [`Lossy`] drops some of what a camera sends.

#![allow(clippy::disallowed_types)] // binds the simulator's UDP sockets

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::demo::{DemoCamera, DemoCameraConfig, DemoCameraHandle};
use super::netem::LossModel;
use super::pattern::PatternSpec;
use super::Device;
use crate::config::{CameraConfig, CameraKind};
use crate::io::clock;
use crate::io::driver::{flush, is_transient, DriverError};
use crate::io::socket::{recv_any, DatagramSocket};
use crate::proto::{Datagram, Transmit};

/// Largest datagram a simulated camera accepts.
const RECV_BUF: usize = 65_536;

/// Runs a simulated camera until `cancel` fires or a socket fails.
pub async fn run_device<V: Device, D: DatagramSocket>(
    mut device: V,
    sockets: Vec<D>,
    cancel: CancellationToken,
) -> Result<(), DriverError> {
    let mut buf = vec![0u8; RECV_BUF];
    let mut next = 0usize;
    loop {
        while let Some(t) = device.poll_transmit() {
            flush(&sockets, t).await;
        }
        let deadline = device.poll_timeout();
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(()),
            r = recv_any(&sockets, &mut next, &mut buf) => match r {
                Ok((socket, from, n)) => {
                    let payload = buf.get(..n).unwrap_or(&buf);
                    device.handle_datagram(clock::now(), Datagram { socket, from, payload });
                }
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(DriverError::Socket(e)),
            },
            () = clock::sleep_until(deadline) => device.handle_timeout(clock::now()),
        }
    }
}

/// Drops each datagram a device sends with probability `loss` (seeded).
pub struct Lossy<D> {
    inner: D,
    loss: LossModel,
}

impl<D: Device> Lossy<D> {
    /// Wraps `inner`.
    pub fn new(inner: D, loss: f64, seed: u64) -> Self {
        Self {
            inner,
            loss: LossModel::new(loss, None, seed),
        }
    }
}

impl<D: Device> Device for Lossy<D> {
    fn sockets(&self) -> usize {
        self.inner.sockets()
    }
    fn handle_datagram(&mut self, now: Instant, d: Datagram<'_>) {
        self.inner.handle_datagram(now, d);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            let t = self.inner.poll_transmit()?;
            if !self.loss.lose() {
                return Some(t);
            }
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }
}

/// Options for one simulated demo-mode camera.
#[derive(Debug, Clone)]
pub struct DemoSimOptions {
    /// Label drawn into frames.
    pub label: String,
    /// Address to listen on.
    pub ip: IpAddr,
    /// Video port; audio and Wi-Fi use the next two. 0 = any free ports.
    pub base_port: u16,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Probability of dropping each sent datagram.
    pub loss: f64,
    /// Seed for the loss.
    pub seed: u64,
    /// After Wi-Fi setup the camera leaves demo mode; it comes back this much
    /// later (`None`: never), as a camera that could not join the network does.
    pub return_to_demo_after: Option<std::time::Duration>,
}

impl Default for DemoSimOptions {
    /// A 640x480, 10 fps camera on free loopback ports, no loss.
    fn default() -> Self {
        Self {
            label: "demo".into(),
            ip: IpAddr::from([127, 0, 0, 1]),
            base_port: 0,
            width: 640,
            height: 480,
            fps: 10,
            loss: 0.0,
            seed: 0,
            return_to_demo_after: Some(std::time::Duration::from_secs(30)),
        }
    }
}

/// A running simulated camera.
pub struct SimCamera {
    addrs: [SocketAddr; 3],
    handle: DemoCameraHandle,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl SimCamera {
    /// Binds three UDP sockets (video, audio, Wi-Fi) and starts the camera.
    pub async fn spawn_demo(opts: DemoSimOptions) -> std::io::Result<Self> {
        let mut sockets = Vec::with_capacity(3);
        for i in 0..3u16 {
            let port = if opts.base_port == 0 {
                0
            } else {
                opts.base_port.saturating_add(i)
            };
            sockets.push(UdpSocket::bind((opts.ip, port)).await?);
        }
        let addrs = [
            sockets[0].local_addr()?,
            sockets[1].local_addr()?,
            sockets[2].local_addr()?,
        ];
        let cfg = DemoCameraConfig {
            label: opts.label.clone(),
            pattern: PatternSpec {
                width: opts.width,
                height: opts.height,
                ..PatternSpec::default()
            },
            fps: opts.fps.max(1),
            return_to_demo_after: opts.return_to_demo_after,
            ..DemoCameraConfig::default()
        };
        let camera = DemoCamera::new(cfg, crate::io::clock::now());
        let handle = camera.handle();
        let cancel = CancellationToken::new();
        let device = Lossy::new(camera, opts.loss, opts.seed);
        let c = cancel.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = run_device(device, sockets, c).await {
                tracing::warn!(error = %e, "simulated camera stopped");
            }
        });
        tracing::info!(video = %addrs[0], audio = %addrs[1], wifi = %addrs[2], "simulated demo-mode camera running");
        Ok(Self {
            addrs,
            handle,
            cancel,
            task,
        })
    }

    /// The video port's address.
    pub fn video_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Test and status access to the camera.
    pub fn handle(&self) -> &DemoCameraHandle {
        &self.handle
    }

    /// A `[[cameras]]` entry pointing at this camera.
    pub fn camera_config(&self) -> CameraConfig {
        let mut c = CameraConfig::demo(&self.addrs[0].ip().to_string());
        if let CameraKind::Demo(d) = &mut c.kind {
            d.video_port = self.addrs[0].port();
            d.audio_port = self.addrs[1].port();
            d.command_port = self.addrs[2].port();
        }
        c
    }

    /// The same entry as TOML.
    pub fn config_snippet(&self) -> String {
        let [video, audio, wifi] = self.addrs;
        format!(
            "[[cameras]]\nprotocol = \"demo\"\nhost = \"{}\"\nvideo_port = {}\naudio_port = {}\ncommand_port = {}\n\n",
            video.ip(),
            video.port(),
            audio.port(),
            wifi.port()
        )
    }

    /// Stops the camera.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}
