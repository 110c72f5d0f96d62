//! One table for all of a session's deadlines (quinn's `TimerTable`).
//!
//! Sessions define an enum of timers and keep every deadline here, so
//! `poll_timeout` is simply the minimum and nothing is scattered in fields.

use std::time::Instant;

/// A timer kind usable as a table index. Implement it only through
/// [`timer_kind!`](crate::timer_kind), which declares the enum itself, so every
/// variant has a slot and an out-of-range index cannot be written.
pub trait TimerKind: Copy + Eq + std::fmt::Debug + 'static {
    /// Every variant, in declaration order (`ALL[k.index()] == k`).
    const ALL: &'static [Self];
    /// Dense index in `0..ALL.len()`.
    fn index(self) -> usize;
}

/// Deadlines keyed by a [`TimerKind`].
#[derive(Debug, Clone)]
pub struct TimerTable<T: TimerKind> {
    /// One slot per variant of `T`, in `T::ALL` order.
    deadlines: Vec<Option<Instant>>,
    _kind: std::marker::PhantomData<T>,
}

impl<T: TimerKind> Default for TimerTable<T> {
    fn default() -> Self {
        Self {
            deadlines: vec![None; T::ALL.len()],
            _kind: std::marker::PhantomData,
        }
    }
}

impl<T: TimerKind> TimerTable<T> {
    fn slot(&mut self, timer: T) -> &mut Option<Instant> {
        // `timer_kind!` makes `index()` the declaration position and sizes the
        // table from the same list, so this index is always in range; a hand-written
        // `TimerKind` that breaks that is a programming error and panics here.
        &mut self.deadlines[timer.index()]
    }

    /// Arm (or re-arm) `timer` for `at`.
    pub fn set(&mut self, timer: T, at: Instant) {
        *self.slot(timer) = Some(at);
    }

    /// Arm `timer` for `at` unless it is already armed earlier.
    pub fn set_earliest(&mut self, timer: T, at: Instant) {
        let slot = self.slot(timer);
        *slot = Some(slot.map_or(at, |t| t.min(at)));
    }

    /// Disarm `timer`.
    pub fn stop(&mut self, timer: T) {
        *self.slot(timer) = None;
    }

    /// Disarm every timer.
    pub fn clear(&mut self) {
        self.deadlines.fill(None);
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: T) -> Option<Instant> {
        self.deadlines.get(timer.index()).copied().flatten()
    }

    /// The earliest armed deadline.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Disarm and return every timer whose deadline is at or before `now`,
    /// earliest first.
    pub fn expired(&mut self, now: Instant) -> Vec<T> {
        let mut due: Vec<(Instant, T)> = T::ALL
            .iter()
            .zip(self.deadlines.iter_mut())
            .filter_map(|(kind, slot)| match *slot {
                Some(at) if at <= now => {
                    *slot = None;
                    Some((at, *kind))
                }
                _ => None,
            })
            .collect();
        due.sort_by_key(|(at, _)| *at);
        due.into_iter().map(|(_, t)| t).collect()
    }
}

/// Declares a field-less timer enum and implements [`TimerKind`] for it.
///
/// ```ignore
/// cam2mqtt::timer_kind! {
///     /// My session's timers.
///     enum Timer {
///         /// Resend the request.
///         Retry,
///         /// Give up.
///         Deadline,
///     }
/// }
/// ```
#[macro_export]
macro_rules! timer_kind {
    ($(#[$meta:meta])* $vis:vis enum $ty:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $ty {
            $($(#[$vmeta])* $variant),+
        }
        impl $crate::proto::timer::TimerKind for $ty {
            const ALL: &'static [Self] = &[$($ty::$variant),+];
            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    crate::timer_kind! {
        enum T {
            A,
            B,
            C,
        }
    }

    #[test]
    fn next_timeout_is_the_minimum_and_expired_returns_due_timers_in_order() {
        let t0 = crate::proto::testing::t0();
        let mut table = TimerTable::<T>::default();
        assert_eq!(table.next_timeout(), None);
        table.set(T::A, t0 + Duration::from_secs(3));
        table.set(T::B, t0 + Duration::from_secs(1));
        table.set(T::C, t0 + Duration::from_secs(2));
        assert_eq!(table.next_timeout(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(table.expired(t0 + Duration::from_secs(2)), vec![T::B, T::C]);
        assert_eq!(table.next_timeout(), Some(t0 + Duration::from_secs(3)));
        table.stop(T::A);
        assert_eq!(table.next_timeout(), None);
    }

    #[test]
    fn every_variant_has_its_own_slot() {
        let t0 = crate::proto::testing::t0();
        let mut table = TimerTable::<T>::default();
        for (i, kind) in T::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
            table.set(*kind, t0 + Duration::from_secs(i as u64));
        }
        assert_eq!(table.expired(t0 + Duration::from_secs(9)), T::ALL.to_vec());
        table.set(T::C, t0 + Duration::from_secs(5));
        table.set_earliest(T::C, t0 + Duration::from_secs(7));
        assert_eq!(table.get(T::C), Some(t0 + Duration::from_secs(5)));
        table.set_earliest(T::C, t0 + Duration::from_secs(2));
        assert_eq!(table.get(T::C), Some(t0 + Duration::from_secs(2)));
        table.clear();
        assert_eq!(table.next_timeout(), None);
    }
}
