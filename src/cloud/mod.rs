//! Cloud accounts (the Wyze device list). Pure pieces first: [`totp`] for
//! accounts with two-factor authentication. The HTTPS client and the
//! device-list source are the next steps of the Wyze issue.

pub mod totp;
