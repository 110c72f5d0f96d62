//! Cloud accounts: the Wyze device list ([`wyze`]), a discovery source for
//! Wyze/TUTK cameras, and [`totp`] for accounts with two-factor
//! authentication.

pub mod totp;
pub mod wyze;
