//! DNS health: the records a domain needs ([`expected`]), real lookups that judge each one
//! OK / Missing / Invalid ([`checker`]), and a small authoritative listener ([`authority`]) that
//! serves the sandbox's zones so the same checker runs offline.
//!
//! The app builds one [`DnsChecker`] from `[dns]` (`DnsChecker::new(&settings.dns)`); in sandbox
//! mode it first starts the listener on `dns.resolver` with `authority::spawn`, backed by a
//! [`ZoneSource`] over the sandbox's zones. A check is
//! `checker.check(domain, &expected_records(domain, dkim_key_b64, &settings.dns, tracking))`.

pub mod authority;
pub mod blocklist;
pub mod checker;
pub mod expected;
pub mod records;

pub use authority::{MemoryZones, ZoneSource};
pub use checker::{CheckStatus, DnsCheckError, DnsChecker, RecordCheck};
pub use expected::{
    DmarcPolicy, DnsSettings, ExpectedRecord, MxHost, RecordPurpose, expected_records,
};
pub use records::{DnsRecord, RecordType};

#[cfg(test)]
mod tests;
