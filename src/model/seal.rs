//! Keyed seals on the files sebulk later trusts (plans, held changes,
//! snapshots): an HMAC-SHA-256 under a key derived from the tenant's API
//! key. A plain digest is only a checksum — whoever can edit the file can
//! recompute it — while a keyed seal can be made only by someone who
//! already holds the key that writes to the tenant, so an edited,
//! resealed file is refused. Each kind of file seals under its own domain
//! (`sebulk-plan`, ...), so a seal lifted from one kind never verifies
//! another.
//!
//! What a seal does not do: it does not hide the file (snapshots are
//! private by their mode, not by the seal), and a file sealed under one
//! API key no longer verifies after the key is rotated (make a fresh plan;
//! an old snapshot is restored only when asked for explicitly).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a keyed seal starts with, so a reader tells it from a plain
/// SHA-256 digest (the old, unkeyed seals).
pub const SCHEME: &str = "hmac-sha256:";

/// Why the key is derived, mixed into the derivation so the key that
/// seals files is never the key itself nor a MAC anything else uses.
const DERIVATION: &[u8] = b"sebulk file seal v1";

/// The key that seals and verifies one tenant's files. Never printed: its
/// `Debug` says nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

/// HMAC-SHA-256 keyed by `key` (HMAC takes a key of any length).
fn keyed(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default()))
}

/// How a file's seal reads under this tenant's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealCheck {
    /// Made with this key over exactly what was read.
    Verified,
    /// No keyed seal: written by an older sebulk (a plain digest, or none).
    Unkeyed,
    /// A keyed seal that does not verify: the file was changed after it
    /// was written, or sealed under another key (another tenant, or the
    /// API key before it was rotated).
    Forged,
}

impl SealKey {
    /// The key for `tenant`'s files, derived from its API key.
    pub fn derive(api_key: &str, tenant: &str) -> SealKey {
        let mut mac = keyed(api_key.as_bytes());
        mac.update(DERIVATION);
        mac.update(&[0]);
        mac.update(tenant.as_bytes());
        SealKey(mac.finalize().into_bytes().into())
    }

    fn mac(&self, domain: &str, message: &[u8]) -> HmacSha256 {
        let mut mac = keyed(&self.0);
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(message);
        mac
    }

    /// The seal of `message` in `domain` (the kind of file), as written.
    pub fn seal(&self, domain: &str, message: &[u8]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bytes = self.mac(domain, message).finalize().into_bytes();
        // Written digit by digit: a results file seals every line, and a
        // `format!` a byte was a tenth of writing one.
        let mut seal = String::with_capacity(SCHEME.len() + 2 * bytes.len());
        seal.push_str(SCHEME);
        for byte in bytes {
            seal.push(char::from(HEX[usize::from(byte >> 4)]));
            seal.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        seal
    }

    /// How `seal` (as read; empty when the file has none) reads for
    /// `message` in `domain`, compared in constant time.
    pub fn check(&self, domain: &str, message: &[u8], seal: &str) -> SealCheck {
        let Some(hex) = seal.strip_prefix(SCHEME) else {
            return SealCheck::Unkeyed;
        };
        let Some(bytes) = decode_hex(hex) else {
            return SealCheck::Forged;
        };
        match self.mac(domain, message).verify_slice(&bytes) {
            Ok(()) => SealCheck::Verified,
            Err(_) => SealCheck::Forged,
        }
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_verifies_only_its_own_message_domain_and_key() {
        let key = SealKey::derive("api-key", "https://t.example/api");
        let seal = key.seal("sebulk-plan", b"lines");
        assert!(seal.starts_with(SCHEME));
        assert_eq!(
            key.check("sebulk-plan", b"lines", &seal),
            SealCheck::Verified
        );
        assert_eq!(
            key.check("sebulk-plan", b"lines!", &seal),
            SealCheck::Forged
        );
        assert_eq!(key.check("sebulk-held", b"lines", &seal), SealCheck::Forged);
        let other_key = SealKey::derive("api-key-2", "https://t.example/api");
        assert_eq!(
            other_key.check("sebulk-plan", b"lines", &seal),
            SealCheck::Forged
        );
        let other_tenant = SealKey::derive("api-key", "https://u.example/api");
        assert_ne!(other_tenant, key);
        assert_eq!(key.check("sebulk-plan", b"lines", ""), SealCheck::Unkeyed);
        let plain_sha = "ab".repeat(32);
        assert_eq!(
            key.check("sebulk-plan", b"lines", &plain_sha),
            SealCheck::Unkeyed
        );
        assert_eq!(
            key.check("sebulk-plan", b"lines", "hmac-sha256:zz"),
            SealCheck::Forged
        );
        assert_eq!(format!("{key:?}"), "SealKey(..)");
    }
}
