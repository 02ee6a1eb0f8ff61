//! The network key: a secret shared by every member of one mesh session.
//!
//! It is handed to every node out of band (a game lobby, a QR code, a pairing ceremony) as 32
//! bytes. From it the layer derives, with HKDF-SHA256 (RFC 5869):
//!
//! * the **frame tag key** (`info = "blemesh v1 frame tag"`): every frame ends with
//!   `HMAC-SHA256(tag_key, frame_with_ttl_and_hops_zeroed ‖ trailer_before_tag)[..16]`. A
//!   frame without a valid tag is not from this mesh and is dropped before any other work;
//! * a **key id** (`info = "blemesh v1 key id"`), a 4-byte public fingerprint that `Debug`
//!   prints instead of key material, so that logs can tell two sessions' keys apart.
//!
//! The HMAC key schedule is computed once in [`NetworkKey::new`]; each tag then costs
//! `⌈(len + 9) / 64⌉ + 1` SHA-256 compressions and no allocation.

use core::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Bytes of the network key supplied by the caller.
pub const NETWORK_KEY_LEN: usize = 32;
/// Bytes of the truncated HMAC-SHA256 tag that ends every trailer.
pub const TAG_LEN: usize = 16;

const HKDF_SALT: &[u8] = b"blemesh network key v1";
const TAG_INFO: &[u8] = b"blemesh v1 frame tag";
const KEY_ID_INFO: &[u8] = b"blemesh v1 key id";

/// The mesh's shared secret with its derived frame tag key.
///
/// `Debug` prints only the public key id. The keyed HMAC state is zeroized on drop.
#[derive(Clone)]
pub struct NetworkKey {
    /// The HMAC state right after absorbing the derived key (ipad/opad blocks done).
    mac: Hmac<Sha256>,
    key_id: [u8; 4],
}

impl NetworkKey {
    /// Derives the tag key and key id from the 32-byte shared network key.
    pub fn new(key: &[u8; NETWORK_KEY_LEN]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), key);
        let mut tag_key = Zeroizing::new([0u8; 32]);
        let mut key_id = [0u8; 4];
        // 32 and 4 bytes are far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
        let _ = hk.expand(TAG_INFO, &mut tag_key[..]);
        let _ = hk.expand(KEY_ID_INFO, &mut key_id);
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&tag_key[..])
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        NetworkKey { mac, key_id }
    }

    /// A public 4-byte fingerprint of the key (an HKDF output, not key material).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// Computes the 16-byte tag over `parts`, concatenated. No allocation.
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }

    /// Checks a 16-byte tag over `parts`, in constant time with respect to the tag's value.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        if tag.len() != TAG_LEN {
            return false;
        }
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(part);
        }
        mac.verify_truncated_left(tag).is_ok()
    }

    /// The derived tag key, for tests that recompute tags with a plain HMAC.
    #[cfg(test)]
    pub(crate) fn derive_tag_key(key: &[u8; NETWORK_KEY_LEN]) -> [u8; 32] {
        let mut out = [0u8; 32];
        Hkdf::<Sha256>::new(Some(HKDF_SALT), key).expand(TAG_INFO, &mut out).unwrap();
        out
    }
}

impl fmt::Debug for NetworkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.key_id;
        write!(f, "NetworkKey {{ key_id: {a:02x}{b:02x}{c:02x}{d:02x}, .. }}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn tag_is_truncated_hmac_over_the_concatenation() {
        let k = NetworkKey::new(&[0x42; 32]);
        let tag_key = NetworkKey::derive_tag_key(&[0x42; 32]);
        let mut plain = <Hmac<Sha256> as KeyInit>::new_from_slice(&tag_key).unwrap();
        plain.update(b"abcdef");
        let full = plain.finalize().into_bytes();
        assert_eq!(k.tag(&[b"abc", b"", b"def"]), full[..16]);
        assert!(k.verify(&[b"abcdef"], &full[..16]));
        assert!(!k.verify(&[b"abcdeg"], &full[..16]));
        assert!(!k.verify(&[b"abcdef"], &full[..15]));
    }

    #[test]
    fn different_keys_different_tags_and_ids() {
        let a = NetworkKey::new(&[1; 32]);
        let b = NetworkKey::new(&[2; 32]);
        assert_ne!(a.tag(&[b"x"]), b.tag(&[b"x"]));
        assert_ne!(a.key_id(), b.key_id());
    }

    #[test]
    fn debug_prints_only_the_key_id() {
        let raw = [0x5Au8; 32];
        let k = NetworkKey::new(&raw);
        let shown = format!("{k:?}");
        assert!(shown.starts_with("NetworkKey { key_id: "), "{shown}");
        assert!(!shown.contains("5a5a"));
        assert!(!shown.contains("90, 90"));
        let derived: alloc::string::String =
            NetworkKey::derive_tag_key(&raw)[..4].iter().map(|x| format!("{x:02x}")).collect();
        assert!(!shown.contains(&derived));
    }
}
