//! One table for all of a session's deadlines (quinn's `TimerTable`).
//!
//! Sessions define an enum of timers and keep every deadline here, so
//! `poll_timeout` is simply the minimum and nothing is scattered in fields.

use std::time::Instant;

/// A timer kind usable as a table index.
pub trait TimerKind: Copy + Eq + std::fmt::Debug {
    /// Number of distinct timers.
    const COUNT: usize;
    /// Dense index in `0..COUNT`.
    fn index(self) -> usize;
    /// Inverse of [`TimerKind::index`].
    fn from_index(index: usize) -> Self;
}

/// Deadlines keyed by a [`TimerKind`].
#[derive(Debug, Clone)]
pub struct TimerTable<T: TimerKind> {
    deadlines: Vec<Option<Instant>>,
    _kind: std::marker::PhantomData<T>,
}

impl<T: TimerKind> Default for TimerTable<T> {
    fn default() -> Self {
        Self {
            deadlines: vec![None; T::COUNT],
            _kind: std::marker::PhantomData,
        }
    }
}

impl<T: TimerKind> TimerTable<T> {
    /// Arm (or re-arm) `timer` for `at`.
    pub fn set(&mut self, timer: T, at: Instant) {
        if let Some(slot) = self.deadlines.get_mut(timer.index()) {
            *slot = Some(at);
        }
    }

    /// Disarm `timer`.
    pub fn stop(&mut self, timer: T) {
        if let Some(slot) = self.deadlines.get_mut(timer.index()) {
            *slot = None;
        }
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
        let mut due: Vec<(Instant, T)> = self
            .deadlines
            .iter_mut()
            .enumerate()
            .filter_map(|(i, slot)| match *slot {
                Some(at) if at <= now => {
                    *slot = None;
                    Some((at, T::from_index(i)))
                }
                _ => None,
            })
            .collect();
        due.sort_by_key(|(at, _)| *at);
        due.into_iter().map(|(_, t)| t).collect()
    }
}

/// Implements [`TimerKind`] for a field-less enum listing its variants in order.
#[macro_export]
macro_rules! timer_kind {
    ($ty:ident { $($variant:ident),+ $(,)? }) => {
        impl $crate::proto::timer::TimerKind for $ty {
            const COUNT: usize = [$($ty::$variant),+].len();
            fn index(self) -> usize {
                self as usize
            }
            fn from_index(index: usize) -> Self {
                const ALL: &[$ty] = &[$($ty::$variant),+];
                ALL.get(index).copied().unwrap_or(ALL[0])
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum T {
        A,
        B,
        C,
    }
    crate::timer_kind!(T { A, B, C });

    #[test]
    fn next_timeout_is_the_minimum_and_expired_returns_due_timers_in_order() {
        let t0 = crate::io::clock::now();
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
}
