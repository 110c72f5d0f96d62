//! Runs simulated cameras: [`run_device`] is the device loop (over real or
//! in-memory sockets), [`SimCamera`] binds real UDP for `simulate`, `demo` and
//! the end-to-end tests ([`SimCamera::spawn_demo`],
//! [`SimCamera::spawn_pppp`] → [`SimPpppCamera`] and
//! [`SimCamera::spawn_tutk`] → [`SimTutkCamera`]), and [`Lossy`] drops some
//! of what a camera sends.

#![allow(clippy::disallowed_types)] // binds the simulator's UDP sockets

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::demo::{DemoCamera, DemoCameraConfig, DemoCameraHandle};
use super::netem::LossModel;
use super::pattern::PatternSpec;
use super::pppp::{PpppCamera, PpppCameraConfig, PpppCameraHandle, PpppQuirks, Resolution};
use super::tutk::{Transport, TutkCamera, TutkCameraConfig, TutkCameraHandle, TutkQuirks};
use super::Device;
use crate::config::{CameraConfig, CameraKind};
use crate::io::clock;
use crate::io::driver::{flush, is_transient, DriverError};
use crate::io::socket::{recv_any, DatagramSocket};
use crate::proto::pppp::dialect::{Dialect, Password};
use crate::proto::pppp::obfuscate::parse_psk_setting;
use crate::proto::pppp::uid::Uid;
use crate::proto::pppp::wire::LAN_SEARCH_PORT;
use crate::proto::tutk::auth::ChallengeStatus;
use crate::proto::tutk::iotc::{WireUid, DEFAULT_PORT as TUTK_PORT};
use crate::proto::tutk::kcmd::FrameSize;
use crate::proto::{Datagram, Transmit};
use crate::secret::Secret;

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

/// Options for one simulated PPPP camera.
#[derive(Debug, Clone)]
pub struct PpppSimOptions {
    /// Channel-0 dialect.
    pub dialect: Dialect,
    /// PSK setting (a known name, `none`, or 4 key bytes in hex, as the
    /// bridge's `psk` takes it); `None`: the dialect's default (JSON
    /// `camera`, binary plaintext, CGI `@@@@....`).
    pub psk: Option<String>,
    /// UID; `None`: the dialect's default (`DGOA-424242-SIMCA`, …).
    pub uid: Option<Uid>,
    /// Label stamped into the frames.
    pub label: String,
    /// The LAN search socket's address (a real camera: port 32108); port 0
    /// picks a free one. The session socket gets a free port on the same IP.
    pub listen: SocketAddr,
    /// Picture width of the large mode (640; 320 with height 240 starts in
    /// the small mode).
    pub width: u32,
    /// Picture height of the large mode.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Whether the camera sends audio when asked.
    pub audio: bool,
    /// Login user; `None`: the dialect's default.
    pub username: Option<String>,
    /// Login password; `None`: the dialect's default.
    pub password: Option<String>,
    /// Probability of dropping each sent datagram.
    pub loss: f64,
    /// Seed for the loss and the camera's own random choices.
    pub seed: u64,
    /// Misbehaviours.
    pub quirks: PpppQuirks,
}

impl Default for PpppSimOptions {
    /// A JSON camera searchable on 127.0.0.1:32108, 640x480 at 10 fps with
    /// audio, default credentials, no loss.
    fn default() -> Self {
        Self {
            dialect: Dialect::Json,
            psk: None,
            uid: None,
            label: "pppp".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], LAN_SEARCH_PORT)),
            width: 640,
            height: 480,
            fps: 10,
            audio: true,
            username: None,
            password: None,
            loss: 0.0,
            seed: 0,
            quirks: PpppQuirks::default(),
        }
    }
}

impl PpppSimOptions {
    /// The camera configuration these options describe (`epoch`: the camera
    /// clock at start, seconds since the Unix epoch).
    pub fn camera_config(&self, epoch: u64) -> std::io::Result<PpppCameraConfig> {
        let mut cfg = PpppCameraConfig::new(self.dialect);
        if let Some(psk) = &self.psk {
            cfg.obfuscation = parse_psk_setting(psk)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        }
        if let Some(uid) = &self.uid {
            cfg.uid = uid.clone();
        }
        if let Some(user) = &self.username {
            cfg.username = user.clone();
        }
        if let Some(password) = &self.password {
            cfg.password = Password::new(password.as_str());
        }
        cfg.label = self.label.clone();
        if (self.width, self.height) == (320, 240) {
            cfg.resolution = Resolution::Qvga;
        } else {
            cfg.vga.width = self.width;
            cfg.vga.height = self.height;
            cfg.qvga.width = (self.width / 2).max(1);
            cfg.qvga.height = (self.height / 2).max(1);
        }
        cfg.fps = self.fps.max(1);
        cfg.audio = self.audio;
        cfg.seed = self.seed;
        cfg.epoch = epoch;
        cfg.quirks = self.quirks.clone();
        Ok(cfg)
    }
}

/// A running simulated PPPP camera.
pub struct SimPpppCamera {
    search: SocketAddr,
    session: SocketAddr,
    uid: Uid,
    dialect: Dialect,
    username: String,
    password: Password,
    handle: PpppCameraHandle,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl SimCamera {
    /// Binds the LAN search socket at `opts.listen` and a session socket on
    /// the same IP, and starts a simulated PPPP camera.
    pub async fn spawn_pppp(opts: PpppSimOptions) -> std::io::Result<SimPpppCamera> {
        let epoch = crate::io::clock::wall()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let cfg = opts.camera_config(epoch)?;
        let search = UdpSocket::bind(opts.listen).await?;
        let session = UdpSocket::bind((opts.listen.ip(), 0)).await?;
        let addrs = (search.local_addr()?, session.local_addr()?);
        let (uid, dialect, username, password) = (
            cfg.uid.clone(),
            cfg.dialect,
            cfg.username.clone(),
            cfg.password.clone(),
        );
        let camera = PpppCamera::new(cfg, crate::io::clock::now());
        let handle = camera.handle();
        let cancel = CancellationToken::new();
        let device = Lossy::new(camera, opts.loss, opts.seed);
        let c = cancel.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = run_device(device, vec![search, session], c).await {
                tracing::warn!(error = %e, "simulated PPPP camera stopped");
            }
        });
        tracing::info!(search = %addrs.0, session = %addrs.1, %uid, %dialect, "simulated PPPP camera running");
        Ok(SimPpppCamera {
            search: addrs.0,
            session: addrs.1,
            uid,
            dialect,
            username,
            password,
            handle,
            cancel,
            task,
        })
    }
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl SimPpppCamera {
    /// The LAN search socket's address.
    pub fn search_addr(&self) -> SocketAddr {
        self.search
    }

    /// The session socket's address (where the PunchPkt comes from).
    pub fn session_addr(&self) -> SocketAddr {
        self.session
    }

    /// The camera's UID.
    pub fn uid(&self) -> &Uid {
        &self.uid
    }

    /// The camera's dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Test and status access to the camera.
    pub fn handle(&self) -> &PpppCameraHandle {
        &self.handle
    }

    /// Whether the simulated camera has a pan/tilt motor and a light the
    /// bridge can use: JSON and binary cameras do (the bridge offers neither
    /// to CGI cameras).
    pub fn has_ptz_and_light(&self) -> bool {
        self.dialect != Dialect::Cgi
    }

    /// An id for its `[[cameras]]` entry that no other running simulator
    /// prints: from the search address (`sim_pppp_127_0_0_1_32108`).
    pub fn default_id(&self) -> String {
        crate::model::CameraId::derive(&format!("sim_pppp_{}", self.search)).to_string()
    }

    /// A `[[cameras]]` entry for this camera, without the search port (which
    /// [`SimPpppCamera::config_snippet`] adds when it is not 32108).
    pub fn camera_config(&self, id: &str) -> CameraConfig {
        let mut c = CameraConfig::new(CameraKind::Pppp(crate::config::PpppCameraConfig {
            host: self.search.ip().to_string(),
            uid: self.uid.to_string(),
            username: self.username.clone(),
            password: Secret::new(self.password.expose()),
            search_port: self.search.port(),
            ptz: self.has_ptz_and_light(),
            light: self.has_ptz_and_light(),
            ..crate::config::PpppCameraConfig::default()
        }));
        c.id = id.to_owned();
        c
    }

    /// The same entry as TOML: `protocol = "pppp"`, `host`, `uid`, the
    /// camera's credentials, `ptz` and `light` when it has them, and
    /// `search_port` when the search socket is not on 32108.
    pub fn config_snippet(&self, id: &str) -> String {
        let mut s = format!(
            "[[cameras]]\nid = {}\nprotocol = \"pppp\"\nhost = \"{}\"\nuid = \"{}\"\nusername = {}\npassword = {}\n",
            toml_str(id),
            self.search.ip(),
            self.uid,
            toml_str(&self.username),
            toml_str(self.password.expose()),
        );
        if self.has_ptz_and_light() {
            s.push_str("ptz = true\nlight = true\n");
        }
        if self.search.port() != LAN_SEARCH_PORT {
            s.push_str(&format!(
                "# the simulator listens for LAN searches on {} instead of {LAN_SEARCH_PORT}\nsearch_port = {}\n",
                self.search.port(),
                self.search.port()
            ));
        }
        s.push('\n');
        s
    }

    /// Stops the camera.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

/// Options for one simulated Wyze (TUTK) camera.
#[derive(Debug, Clone)]
pub struct TutkSimOptions {
    /// UID (20 characters); `None`: [`crate::sim::tutk::DEFAULT_UID`].
    pub uid: Option<String>,
    /// ENR; `None`: [`crate::sim::tutk::DEFAULT_ENR`].
    pub enr: Option<String>,
    /// MAC; `None`: [`crate::sim::tutk::DEFAULT_MAC`].
    pub mac: Option<String>,
    /// The camera's socket (a real camera: port 32761); port 0 picks a free one.
    pub listen: SocketAddr,
    /// Which transport the camera answers.
    pub transport: Transport,
    /// The K10001 status.
    pub auth_status: ChallengeStatus,
    /// Video codec.
    pub codec: crate::model::VideoCodec,
    /// Frame size before any K10056.
    pub resolution: FrameSize,
    /// Frames per second.
    pub fps: u32,
    /// Whether the camera has a microphone.
    pub audio: bool,
    /// Whether it has a speaker (intercom; byte 31 of its login answer).
    pub two_way_audio: bool,
    /// Probability of dropping each sent datagram.
    pub loss: f64,
    /// Seed for the loss and the camera's own random choices.
    pub seed: u64,
    /// Misbehaviours.
    pub quirks: TutkQuirks,
}

impl Default for TutkSimOptions {
    /// A TransCode camera with the made-up credentials on 127.0.0.1:32761,
    /// status 3, H.264 640x360 at 10 fps with audio, no loss.
    fn default() -> Self {
        let d = TutkCameraConfig::default();
        Self {
            uid: None,
            enr: None,
            mac: None,
            listen: SocketAddr::from(([127, 0, 0, 1], TUTK_PORT)),
            transport: d.transport,
            auth_status: d.auth_status,
            codec: d.codec,
            resolution: d.resolution,
            fps: d.fps,
            audio: d.audio,
            two_way_audio: d.two_way_audio,
            loss: 0.0,
            seed: 0,
            quirks: TutkQuirks::default(),
        }
    }
}

impl TutkSimOptions {
    /// The camera configuration these options describe (`epoch`: the camera
    /// clock at start, seconds since the Unix epoch). A UID that is not 1–20
    /// printable ASCII characters, or an empty ENR or MAC, is refused.
    pub fn camera_config(&self, epoch: u64) -> std::io::Result<TutkCameraConfig> {
        let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
        let mut cfg = TutkCameraConfig::default();
        if let Some(uid) = &self.uid {
            if WireUid::new(uid).is_none() {
                return Err(invalid(format!(
                    "TUTK UID {uid:?}: 1 to 20 printable ASCII characters"
                )));
            }
            cfg.uid = uid.clone();
        }
        if let Some(enr) = &self.enr {
            if enr.is_empty() {
                return Err(invalid("the ENR is empty".into()));
            }
            cfg.enr = Secret::new(enr.as_str());
        }
        if let Some(mac) = &self.mac {
            if mac.is_empty() {
                return Err(invalid("the MAC is empty".into()));
            }
            cfg.mac = mac.clone();
        }
        cfg.transport = self.transport;
        cfg.auth_status = self.auth_status;
        cfg.codec = self.codec;
        cfg.resolution = self.resolution;
        cfg.fps = self.fps.max(1);
        cfg.audio = self.audio;
        cfg.two_way_audio = self.two_way_audio;
        cfg.seed = self.seed;
        cfg.epoch = epoch;
        cfg.quirks = self.quirks.clone();
        Ok(cfg)
    }
}

/// A running simulated Wyze camera.
pub struct SimTutkCamera {
    addr: SocketAddr,
    uid: String,
    enr: Secret,
    mac: String,
    transport: Transport,
    handle: TutkCameraHandle,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl SimCamera {
    /// Binds `opts.listen` and starts a simulated Wyze camera there.
    pub async fn spawn_tutk(opts: TutkSimOptions) -> std::io::Result<SimTutkCamera> {
        let epoch = crate::io::clock::wall()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let cfg = opts.camera_config(epoch)?;
        let socket = UdpSocket::bind(opts.listen).await?;
        let addr = socket.local_addr()?;
        let (uid, enr, mac, transport) = (
            cfg.uid.clone(),
            cfg.enr.clone(),
            cfg.mac.clone(),
            cfg.transport,
        );
        let camera = TutkCamera::new(cfg, crate::io::clock::now());
        let handle = camera.handle();
        let cancel = CancellationToken::new();
        let device = Lossy::new(camera, opts.loss, opts.seed);
        let c = cancel.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = run_device(device, vec![socket], c).await {
                tracing::warn!(error = %e, "simulated TUTK camera stopped");
            }
        });
        tracing::info!(%addr, %uid, %transport, "simulated Wyze (TUTK) camera running");
        Ok(SimTutkCamera {
            addr,
            uid,
            enr,
            mac,
            transport,
            handle,
            cancel,
            task,
        })
    }
}

impl SimTutkCamera {
    /// Same as [`SimCamera::spawn_tutk`].
    pub async fn spawn_tutk(opts: TutkSimOptions) -> std::io::Result<Self> {
        SimCamera::spawn_tutk(opts).await
    }

    /// The camera's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The camera's UID.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// The transport it answers.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Test and status access to the camera.
    pub fn handle(&self) -> &TutkCameraHandle {
        &self.handle
    }

    /// An id for its `[[cameras]]` entry that no other running simulator
    /// prints: from its address (`sim_tutk_127_0_0_1_32761`).
    pub fn default_id(&self) -> String {
        crate::model::CameraId::derive(&format!("sim_tutk_{}", self.addr)).to_string()
    }

    /// `host` as the bridge takes it: the IP, with `:port` when not 32761.
    fn host(&self) -> String {
        if self.addr.port() == TUTK_PORT {
            self.addr.ip().to_string()
        } else {
            self.addr.to_string()
        }
    }

    /// A `[[cameras]]` entry for this camera.
    pub fn camera_config(&self, id: &str) -> CameraConfig {
        let mut c = CameraConfig::new(CameraKind::Tutk(crate::config::TutkCameraConfig {
            host: self.host(),
            uid: self.uid.clone(),
            enr: self.enr.clone(),
            mac: self.mac.clone(),
        }));
        c.id = id.to_owned();
        c
    }

    /// The same entry as TOML: `protocol = "tutk"`, `host` (with the port
    /// when it is not 32761), `uid`, `enr` and `mac`.
    pub fn config_snippet(&self, id: &str) -> String {
        format!(
            "[[cameras]]\nid = {}\nprotocol = \"tutk\"\nhost = {}\nuid = {}\nenr = {}\nmac = {}\n\n",
            toml_str(id),
            toml_str(&self.host()),
            toml_str(&self.uid),
            toml_str(self.enr.expose()),
            toml_str(&self.mac),
        )
    }

    /// Stops the camera.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::pppp::obfuscate::{Key, Obfuscation};
    use crate::proto::pppp::wire::Message;

    #[tokio::test]
    async fn a_pppp_camera_answers_a_lan_search_over_real_udp_from_its_session_socket() {
        let cam = SimCamera::spawn_pppp(PpppSimOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            width: 64,
            height: 48,
            ..PpppSimOptions::default()
        })
        .await
        .unwrap();
        assert_ne!(cam.search_addr().port(), cam.session_addr().port());
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let key = Obfuscation::Xor(Key::from_psk("camera"));
        let mut search = Message::LanSearch.to_vec();
        key.seal(&mut search);
        client.send_to(&search, cam.search_addr()).await.unwrap();
        let mut buf = [0u8; 256];
        let (n, from) = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            client.recv_from(&mut buf),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(from, cam.session_addr());
        let mut reply = buf[..n].to_vec();
        key.open(&mut reply);
        assert_eq!(
            Message::decode(&reply).unwrap(),
            Message::PunchPkt(cam.uid().clone())
        );
        assert_eq!(cam.handle().lan_searches_answered(), 1);

        let snippet = cam.config_snippet("door");
        assert!(snippet.contains("protocol = \"pppp\""), "{snippet}");
        assert!(snippet.contains("uid = \"DGOA-424242-SIMCA\""), "{snippet}");
        assert!(snippet.contains("ptz = true\nlight = true\n"), "{snippet}");
        assert_eq!(
            cam.default_id(),
            format!("sim_pppp_127_0_0_1_{}", cam.search_addr().port())
        );
        assert!(snippet.contains(&format!("search_port = {}", cam.search_addr().port())));
        // The entry loads as a bridge config.
        let config = crate::config::Config::from_toml(&snippet).unwrap();
        assert_eq!(config.cameras[0].uid(), "DGOA-424242-SIMCA");
        assert_eq!(cam.camera_config("door").host(), "127.0.0.1");
        cam.stop().await;
    }

    #[test]
    fn options_pick_the_psk_credentials_and_size() {
        let cfg = PpppSimOptions {
            dialect: Dialect::Binary,
            psk: Some("SHIX".into()),
            password: Some("pw".into()),
            width: 320,
            height: 240,
            ..PpppSimOptions::default()
        }
        .camera_config(5)
        .unwrap();
        assert_eq!(cfg.obfuscation, Obfuscation::Xor(Key::from_psk("SHIX")));
        assert_eq!(
            (cfg.username.as_str(), cfg.password.expose()),
            ("admin", "pw")
        );
        assert_eq!(cfg.resolution, Resolution::Qvga);
        assert_eq!(cfg.epoch, 5);
        assert!(PpppSimOptions {
            psk: Some("x".repeat(65)),
            ..PpppSimOptions::default()
        }
        .camera_config(0)
        .is_err());
        assert_eq!(toml_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[tokio::test]
    async fn a_tutk_camera_answers_a_disco_over_real_udp_and_prints_a_loadable_entry() {
        use crate::proto::tutk::auth::authkey;
        use crate::proto::tutk::iotc::{Disco, Packet};
        use crate::proto::tutk::transcode::TailPolicy;
        let cam = SimCamera::spawn_tutk(TutkSimOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..TutkSimOptions::default()
        })
        .await
        .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let uid = WireUid::new(cam.uid()).unwrap();
        let disco = Packet::Disco(Disco {
            uid,
            sid: [4; 8],
            stage: 1,
            authkey: authkey(
                &Secret::new(crate::sim::tutk::DEFAULT_ENR),
                crate::sim::tutk::DEFAULT_MAC,
            ),
        });
        client
            .send_to(&disco.encode(TailPolicy::default()), cam.addr())
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let (n, from) = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            client.recv_from(&mut buf),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(from, cam.addr());
        assert!(matches!(
            Packet::decode(&buf[..n], TailPolicy::default()),
            Ok(Packet::DiscoReply(d)) if d.sid == [4; 8]
        ));
        assert_eq!(cam.handle().sessions(), 1);

        let snippet = cam.config_snippet("wyze");
        assert!(snippet.contains("protocol = \"tutk\""), "{snippet}");
        assert!(
            snippet.contains(&format!("host = \"{}\"", cam.addr())),
            "{snippet}"
        );
        let config = crate::config::Config::from_toml(&snippet).unwrap();
        assert_eq!(config.cameras[0].uid(), crate::sim::tutk::DEFAULT_UID);
        assert_eq!(cam.camera_config("wyze").host(), cam.addr().to_string());
        cam.stop().await;
    }

    #[test]
    fn tutk_options_refuse_a_bad_uid_and_pass_the_settings_on() {
        let cfg = TutkSimOptions {
            uid: Some("ABCDEFGHIJKLMNOPQRST".into()),
            enr: Some("e".repeat(32)),
            transport: Transport::Cc51,
            auth_status: ChallengeStatus::Enr32,
            ..TutkSimOptions::default()
        }
        .camera_config(7)
        .unwrap();
        assert_eq!(
            (cfg.uid.as_str(), cfg.transport, cfg.epoch),
            ("ABCDEFGHIJKLMNOPQRST", Transport::Cc51, 7)
        );
        assert_eq!(cfg.auth_status, ChallengeStatus::Enr32);
        for uid in ["", "ABCDEFGHIJKLMNOPQRSTU", "AB CD"] {
            assert!(TutkSimOptions {
                uid: Some(uid.into()),
                ..TutkSimOptions::default()
            }
            .camera_config(0)
            .is_err());
        }
    }
}
