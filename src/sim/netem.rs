//! A seeded, sans-IO lossy link for tests: loss (uniform or Gilbert-Elliott
//! bursts), duplication, reordering, delay and jitter.
//!
//! Owns [`NetemConfig`], [`GilbertElliott`], [`Netem`] and [`NetemStats`].
//! Written from scratch in the spirit of `str0m-netem`: the link is a pure state
//! machine fed with `push(now, packet)` and drained with `poll_output(now)`; the
//! caller sleeps until [`Netem::poll_timeout`]. All randomness comes from a
//! `ChaCha8Rng` seeded with [`NetemConfig::seed`], so the same seed and the same
//! sequence of calls give the same output, on every platform.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Extra hold, on top of `delay + jitter`, given to a packet chosen for
/// reordering, so that packets pushed up to this long after it overtake it.
pub const REORDER_HOLD: Duration = Duration::from_millis(10);

/// Most packets held in flight at once; pushes beyond it are dropped (tail drop)
/// and counted in [`NetemStats::lost`] and [`NetemStats::overflowed`].
pub const MAX_IN_FLIGHT: usize = 65_536;

/// Two-state (Gilbert-Elliott) bursty loss.
///
/// Before each packet the channel moves between the *good* and the *bad* state
/// with the given probabilities; in the good state a packet is lost with
/// [`NetemConfig::loss`], in the bad state with [`GilbertElliott::loss_in_bad`].
/// The mean burst (bad-state) length is `1 / p_bad_to_good` packets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// Probability, per packet, of moving from good to bad.
    pub p_good_to_bad: f64,
    /// Probability, per packet, of moving from bad back to good.
    pub p_bad_to_good: f64,
    /// Loss probability while in the bad state.
    pub loss_in_bad: f64,
}

/// How the link misbehaves. Probabilities are per packet, in `0.0..=1.0`
/// (values outside behave as the nearest bound; NaN as 0).
#[derive(Debug, Clone, PartialEq)]
pub struct NetemConfig {
    /// Probability that a packet is dropped (in the good state when `burst` is set).
    pub loss: f64,
    /// Probability that a delivered packet is delivered twice (the copy gets its
    /// own delay and jitter, so it may arrive before or after the original).
    pub duplicate: f64,
    /// Probability that a packet is held back an extra `REORDER_HOLD + delay +
    /// jitter`, letting later packets overtake it.
    pub reorder: f64,
    /// Base one-way delay.
    pub delay: Duration,
    /// Uniform jitter: each packet's delay is `delay ± jitter` (never below 0).
    /// Jitter alone can reorder packets pushed close together.
    pub jitter: Duration,
    /// Seed of the random generator.
    pub seed: u64,
    /// Bursty loss; `None` means independent losses with probability `loss`.
    pub burst: Option<GilbertElliott>,
}

impl NetemConfig {
    /// A link that delivers everything at once, in order.
    pub fn perfect(seed: u64) -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            seed,
            burst: None,
        }
    }
}

impl Default for NetemConfig {
    /// [`NetemConfig::perfect`] with seed 0.
    fn default() -> Self {
        Self::perfect(0)
    }
}

/// What the link did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetemStats {
    /// Packets pushed.
    pub sent: u64,
    /// Packets dropped (random loss plus overflow).
    pub lost: u64,
    /// Extra copies scheduled.
    pub duplicated: u64,
    /// Packets (originals or copies) held back for reordering.
    pub reordered: u64,
    /// Packets handed out by [`Netem::poll_output`].
    pub delivered: u64,
    /// Packets dropped because [`MAX_IN_FLIGHT`] were already in flight.
    pub overflowed: u64,
}

/// One packet in flight, ordered by delivery time, then by scheduling order.
#[derive(Debug)]
struct Slot<T> {
    at: Instant,
    seq: u64,
    packet: T,
}

impl<T> PartialEq for Slot<T> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl<T> Eq for Slot<T> {}
impl<T> PartialOrd for Slot<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Slot<T> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// The one packet-loss model of the test tools: independent losses, or
/// Gilbert-Elliott bursts, from a seeded generator. Used by [`Netem`], by the
/// in-memory network ([`super::memnet::MemNet`]) and by the simulators' lossy
/// senders ([`super::runner::Lossy`]).
#[derive(Debug, Clone)]
pub struct LossModel {
    loss: f64,
    burst: Option<GilbertElliott>,
    bad: bool,
    rng: ChaCha8Rng,
}

impl LossModel {
    /// Loses each packet with probability `loss` (in the good state when
    /// `burst` is set), drawing from a generator seeded with `seed`.
    pub fn new(loss: f64, burst: Option<GilbertElliott>, seed: u64) -> Self {
        Self {
            loss,
            burst,
            bad: false,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Changes the (good-state) loss probability.
    pub fn set_loss(&mut self, loss: f64) {
        self.loss = loss;
    }

    /// Decides the fate of the next packet: true if it is lost.
    pub fn lose(&mut self) -> bool {
        let loss = match self.burst {
            Some(ge) => {
                let flip = if self.bad {
                    ge.p_bad_to_good
                } else {
                    ge.p_good_to_bad
                };
                if chance(&mut self.rng, flip) {
                    self.bad = !self.bad;
                }
                if self.bad {
                    ge.loss_in_bad
                } else {
                    self.loss
                }
            }
            None => self.loss,
        };
        chance(&mut self.rng, loss)
    }
}

/// True when a draw in `[0, 1)` falls below `p` (NaN and p ≤ 0: never; p ≥ 1: always).
fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    if p.is_nan() || p <= 0.0 {
        return false;
    }
    if p >= 1.0 {
        return true;
    }
    rng.random::<f64>() < p
}

/// A lossy one-way link carrying packets of type `T`.
#[derive(Debug)]
pub struct Netem<T> {
    cfg: NetemConfig,
    rng: ChaCha8Rng,
    loss: LossModel,
    queue: BinaryHeap<Slot<T>>,
    seq: u64,
    stats: NetemStats,
}

impl<T: Clone> Netem<T> {
    /// A link with this behaviour, starting in the good state.
    pub fn new(cfg: NetemConfig) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        // The loss draws come from their own stream, so changing duplication or
        // reordering does not change which packets are lost.
        let loss = LossModel::new(cfg.loss, cfg.burst, cfg.seed ^ 0x1055_1055_1055_1055);
        Self {
            cfg,
            rng,
            loss,
            queue: BinaryHeap::new(),
            seq: 0,
            stats: NetemStats::default(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &NetemConfig {
        &self.cfg
    }

    /// Offers `packet` to the link at time `now`. It is dropped, or scheduled
    /// (once or twice) for delivery at `now + delay`.
    pub fn push(&mut self, now: Instant, packet: T) {
        self.stats.sent += 1;
        if self.loss.lose() {
            self.stats.lost += 1;
            return;
        }
        if self.chance(self.cfg.duplicate) {
            self.stats.duplicated += 1;
            let copy = packet.clone();
            self.schedule(now, packet);
            self.schedule(now, copy);
        } else {
            self.schedule(now, packet);
        }
    }

    /// The next packet whose delivery time is at or before `now`, earliest first
    /// (packets due at the same instant come out in the order they were scheduled).
    pub fn poll_output(&mut self, now: Instant) -> Option<T> {
        if self.queue.peek()?.at > now {
            return None;
        }
        let slot = self.queue.pop()?;
        self.stats.delivered += 1;
        Some(slot.packet)
    }

    /// When the next packet becomes deliverable; `None` if nothing is in flight.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queue.peek().map(|s| s.at)
    }

    /// Packets pushed so far.
    pub fn sent(&self) -> u64 {
        self.stats.sent
    }

    /// Packets dropped so far.
    pub fn lost(&self) -> u64 {
        self.stats.lost
    }

    /// Extra copies made so far.
    pub fn duplicated(&self) -> u64 {
        self.stats.duplicated
    }

    /// All counters.
    pub fn stats(&self) -> NetemStats {
        self.stats
    }

    /// Packets currently in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// True when a draw in `[0, 1)` falls below `p`.
    fn chance(&mut self, p: f64) -> bool {
        chance(&mut self.rng, p)
    }

    fn schedule(&mut self, now: Instant, packet: T) {
        let mut delay = self.cfg.delay;
        if !self.cfg.jitter.is_zero() {
            let j = self.cfg.jitter.as_secs_f64();
            let offset = (self.rng.random::<f64>() * 2.0 - 1.0) * j;
            let secs = (self.cfg.delay.as_secs_f64() + offset).max(0.0);
            delay = Duration::try_from_secs_f64(secs).unwrap_or(self.cfg.delay);
        }
        if self.chance(self.cfg.reorder) {
            self.stats.reordered += 1;
            delay = delay
                .saturating_add(REORDER_HOLD)
                .saturating_add(self.cfg.delay)
                .saturating_add(self.cfg.jitter);
        }
        if self.queue.len() >= MAX_IN_FLIGHT {
            self.stats.lost += 1;
            self.stats.overflowed += 1;
            return;
        }
        let at = now.checked_add(delay).unwrap_or(now);
        self.seq += 1;
        self.queue.push(Slot {
            at,
            seq: self.seq,
            packet,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes `n` numbered packets 1 ms apart and drains everything, returning
    /// the delivery order.
    fn run(cfg: NetemConfig, n: u32) -> (Vec<u32>, NetemStats) {
        let t0 = t0();
        let mut link = Netem::new(cfg);
        let mut out = Vec::new();
        for i in 0..n {
            let now = t0 + Duration::from_millis(u64::from(i));
            link.push(now, i);
            while let Some(p) = link.poll_output(now) {
                out.push(p);
            }
        }
        while let Some(at) = link.poll_timeout() {
            while let Some(p) = link.poll_output(at) {
                out.push(p);
            }
        }
        (out, link.stats())
    }

    /// An arbitrary origin; tests only use offsets from it. Taken from the one
    /// permitted clock so this module itself reads no clock.
    fn t0() -> Instant {
        crate::io::clock::now()
    }

    fn lossy(seed: u64) -> NetemConfig {
        NetemConfig {
            loss: 0.1,
            duplicate: 0.05,
            reorder: 0.1,
            delay: Duration::from_millis(20),
            jitter: Duration::from_millis(5),
            seed,
            burst: None,
        }
    }

    #[test]
    fn perfect_link_delivers_everything_in_order() {
        let (out, stats) = run(NetemConfig::perfect(1), 1000);
        assert_eq!(out, (0..1000).collect::<Vec<_>>());
        assert_eq!(stats.lost + stats.duplicated + stats.reordered, 0);
        assert_eq!(stats.delivered, 1000);
    }

    #[test]
    fn same_seed_same_output() {
        let (a, sa) = run(lossy(42), 5000);
        let (b, sb) = run(lossy(42), 5000);
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        let (c, _) = run(lossy(43), 5000);
        assert_ne!(a, c);
    }

    #[test]
    fn loss_rate_within_tolerance() {
        let cfg = NetemConfig {
            loss: 0.2,
            ..NetemConfig::perfect(7)
        };
        let (out, stats) = run(cfg, 10_000);
        assert_eq!(stats.sent, 10_000);
        assert!((1_800..=2_200).contains(&stats.lost), "lost {}", stats.lost);
        assert_eq!(out.len() as u64, 10_000 - stats.lost);
        // Without reordering, survivors keep their order.
        assert!(out.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn reordering_happens_and_loses_nothing() {
        let cfg = NetemConfig {
            reorder: 0.2,
            ..NetemConfig::perfect(3)
        };
        let (out, stats) = run(cfg, 2_000);
        assert!(stats.reordered > 300, "{stats:?}");
        assert_eq!(out.len(), 2_000);
        let inversions = out.windows(2).filter(|w| w[0] > w[1]).count();
        assert!(inversions > 100, "only {inversions} inversions");
        let mut sorted = out.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..2_000).collect::<Vec<_>>());
    }

    #[test]
    fn duplicates_appear() {
        let cfg = NetemConfig {
            duplicate: 0.1,
            ..NetemConfig::perfect(5)
        };
        let (out, stats) = run(cfg, 2_000);
        assert!(stats.duplicated > 100, "{stats:?}");
        assert_eq!(out.len() as u64, 2_000 + stats.duplicated);
        let twice = out.windows(2).filter(|w| w[0] == w[1]).count() as u64;
        assert_eq!(twice, stats.duplicated);
    }

    #[test]
    fn delay_is_respected_and_timeout_reported() {
        let t0 = t0();
        let cfg = NetemConfig {
            delay: Duration::from_millis(50),
            ..NetemConfig::perfect(0)
        };
        let mut link = Netem::new(cfg);
        assert_eq!(link.poll_timeout(), None);
        link.push(t0, "a");
        assert_eq!(link.poll_output(t0), None);
        assert_eq!(link.poll_timeout(), Some(t0 + Duration::from_millis(50)));
        assert_eq!(link.poll_output(t0 + Duration::from_millis(49)), None);
        assert_eq!(link.poll_output(t0 + Duration::from_millis(50)), Some("a"));
        assert_eq!(link.in_flight(), 0);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let t0 = t0();
        let cfg = NetemConfig {
            delay: Duration::from_millis(30),
            jitter: Duration::from_millis(10),
            ..NetemConfig::perfect(9)
        };
        let mut link = Netem::new(cfg);
        for i in 0..500u32 {
            link.push(t0, i);
        }
        let mut n = 0;
        while let Some(at) = link.poll_timeout() {
            let d = at - t0;
            assert!(
                d >= Duration::from_millis(20) && d <= Duration::from_millis(40),
                "{d:?}"
            );
            while link.poll_output(at).is_some() {
                n += 1;
            }
        }
        assert_eq!(n, 500);
    }

    #[test]
    fn gilbert_elliott_losses_come_in_bursts() {
        let cfg = NetemConfig {
            burst: Some(GilbertElliott {
                p_good_to_bad: 0.02,
                p_bad_to_good: 0.25,
                loss_in_bad: 1.0,
            }),
            ..NetemConfig::perfect(11)
        };
        let (out, stats) = run(cfg, 10_000);
        // Stationary bad share = 0.02 / 0.27 ≈ 7.4 %.
        assert!((400..=1_200).contains(&stats.lost), "lost {}", stats.lost);
        // Count loss runs: gaps between consecutive survivors.
        let runs = out.windows(2).filter(|w| w[1] > w[0] + 1).count() as f64;
        let mean_run = stats.lost as f64 / runs.max(1.0);
        assert!(mean_run > 2.5, "mean loss run {mean_run}");
    }

    #[test]
    fn odd_probabilities_do_not_panic() {
        let cfg = NetemConfig {
            loss: f64::NAN,
            duplicate: -1.0,
            reorder: 2.0,
            ..NetemConfig::perfect(0)
        };
        let (out, stats) = run(cfg, 100);
        assert_eq!(out.len(), 100);
        assert_eq!(stats.reordered, 100);
    }
}
