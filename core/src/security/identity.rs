//! Node identities: one Ed25519 key pair per node, and the [`NodeId`] bound to its public key.
//!
//! The id is the first 8 bytes of `SHA-512(public_key)`, read big-endian. The two reserved
//! values (`0` and `u64::MAX`) are skipped deterministically by taking the next 8 bytes of the
//! same digest instead (see [`node_id_from_public_key`]). Anyone can check the binding with
//! [`verify_binding`], so a node cannot speak under another node's id without that node's key
//! (short of a ~2^64 search for a key whose digest starts with the victim's id).
//!
//! The core draws no randomness: [`Identity::from_seed`] takes the 32-byte Ed25519 secret
//! seed from the caller, who must produce it with a cryptographically secure generator and
//! keep it secret. The secret is zeroized on drop and never printed.

use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use super::SecurityDrop;
use crate::NodeId;

/// Bytes of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Bytes of the secret seed an [`Identity`] is built from.
pub const SEED_LEN: usize = 32;

/// The node id bound to an Ed25519 public key.
///
/// `SHA-512(public_key)` is split into eight big-endian `u64` words; the id is the first word
/// that is not reserved (`0` or `u64::MAX`). All eight being reserved is practically
/// impossible; the function then returns `NodeId(1)` so that it is total.
pub fn node_id_from_public_key(public_key: &[u8; PUBLIC_KEY_LEN]) -> NodeId {
    let digest = Sha512::digest(public_key);
    for chunk in digest.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let id = NodeId(u64::from_be_bytes(word));
        if id.is_unicast() {
            return id;
        }
    }
    NodeId(1)
}

/// Whether `public_key` derives `node_id` (see [`node_id_from_public_key`]).
pub fn verify_binding(node_id: NodeId, public_key: &[u8; PUBLIC_KEY_LEN]) -> bool {
    node_id.is_unicast() && node_id_from_public_key(public_key) == node_id
}

/// A node's secret signing identity: the Ed25519 key pair and the id derived from it.
///
/// Zeroized on drop. `Debug` prints only the node id.
pub struct Identity {
    signing: SigningKey,
    public: PublicKey,
}

impl Identity {
    /// Builds the identity from a 32-byte Ed25519 secret seed (RFC 8032 "private key").
    ///
    /// The seed must come from a cryptographically secure random generator of the caller.
    pub fn from_seed(seed: &[u8; SEED_LEN]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let verifying = signing.verifying_key();
        let bytes = verifying.to_bytes();
        let public = PublicKey { node_id: node_id_from_public_key(&bytes), bytes, key: verifying };
        Identity { signing, public }
    }

    /// A second handle on the same key pair, for another signer inside the node (the
    /// election signs its ballots itself). Both copies are zeroized on drop.
    pub(crate) fn duplicate(&self) -> Identity {
        Identity { signing: self.signing.clone(), public: self.public }
    }

    /// This node's id, derived from its public key.
    pub fn node_id(&self) -> NodeId {
        self.public.node_id
    }

    /// The public half, to be carried in announcements.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message` with pure Ed25519 (RFC 8032), deterministically.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.signing.sign(message).to_bytes()
    }

    /// The X25519 secret scalar bytes corresponding to this Ed25519 key: the first half of
    /// `SHA-512(seed)`, as RFC 8032 expands it (clamped by X25519 itself). Used by
    /// [`super::e2e`] so that announcements need to carry only one public key.
    pub(crate) fn x25519_secret(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_scalar_bytes())
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").field("node_id", &self.public.node_id).finish_non_exhaustive()
    }
}

// `SigningKey` zeroizes its secret on drop (ed25519-dalek's `zeroize` feature); the public half
// is not secret. Marker for callers who require it.
impl zeroize::ZeroizeOnDrop for Identity {}

/// A validated Ed25519 public key and the node id it derives.
///
/// Only valid, non-weak (not small-order) curve points are accepted, so every `PublicKey` can
/// verify signatures and take part in X25519 agreement.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    bytes: [u8; PUBLIC_KEY_LEN],
    node_id: NodeId,
    key: VerifyingKey,
}

impl PublicKey {
    /// Parses and validates a compressed Ed25519 public key.
    ///
    /// Fails with [`SecurityDrop::InvalidPublicKey`] for bytes that are not a curve point or
    /// that are a small-order ("weak") point.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Self, SecurityDrop> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| SecurityDrop::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(SecurityDrop::InvalidPublicKey);
        }
        Ok(PublicKey { bytes: *bytes, node_id: node_id_from_public_key(bytes), key })
    }

    /// The compressed key bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.bytes
    }

    /// The node id this key derives.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// Verifies a pure Ed25519 signature with the strict checks (canonical `S`, no
    /// small-order `R` or key), failing with [`SecurityDrop::BadSignature`].
    pub fn verify(&self, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> Result<(), SecurityDrop> {
        let signature = Signature::from_bytes(signature);
        self.key.verify_strict(message, &signature).map_err(|_| SecurityDrop::BadSignature)
    }

    /// The X25519 (Montgomery) form of this key, for [`super::e2e`].
    pub(crate) fn x25519(&self) -> [u8; 32] {
        self.key.to_montgomery().to_bytes()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("node_id", &self.node_id).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn node_id_is_bound_to_the_key() {
        let a = Identity::from_seed(&[7u8; 32]);
        let b = Identity::from_seed(&[8u8; 32]);
        assert_ne!(a.node_id(), b.node_id());
        assert!(a.node_id().is_unicast());
        assert!(verify_binding(a.node_id(), a.public_key().as_bytes()));
        assert!(!verify_binding(b.node_id(), a.public_key().as_bytes()));
        assert!(!verify_binding(NodeId::NONE, a.public_key().as_bytes()));
        assert_eq!(a.public_key().node_id(), a.node_id());
        // The id is the first big-endian word of SHA-512(pk).
        let digest = Sha512::digest(a.public_key().as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        assert_eq!(a.node_id(), NodeId(u64::from_be_bytes(first)));
    }

    #[test]
    fn same_seed_same_identity() {
        let a = Identity::from_seed(&[3u8; 32]);
        let b = Identity::from_seed(&[3u8; 32]);
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.sign(b"m"), b.sign(b"m"));
    }

    #[test]
    fn weak_and_invalid_keys_are_refused() {
        // The identity point (small order).
        let mut identity_point = [0u8; 32];
        identity_point[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity_point).unwrap_err(), SecurityDrop::InvalidPublicKey);
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(PublicKey::from_bytes(&off_curve).unwrap_err(), SecurityDrop::InvalidPublicKey);
    }

    #[test]
    fn signatures_verify_and_modified_ones_do_not() {
        let id = Identity::from_seed(&[9u8; 32]);
        let sig = id.sign(b"hello");
        assert!(id.public_key().verify(b"hello", &sig).is_ok());
        assert_eq!(id.public_key().verify(b"hellp", &sig).unwrap_err(), SecurityDrop::BadSignature);
        let mut bad = sig;
        bad[10] ^= 1;
        assert_eq!(id.public_key().verify(b"hello", &bad).unwrap_err(), SecurityDrop::BadSignature);
    }

    #[test]
    fn debug_prints_no_key_material() {
        let seed = [0xA5u8; 32];
        let id = Identity::from_seed(&seed);
        let shown = format!("{id:?} {:?}", id.public_key());
        assert!(shown.contains("node_id"));
        assert!(shown.contains(&format!("{:#x}", id.node_id().0)));
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<alloc::string::String>();
        for secret in [&seed[..], &id.x25519_secret()[..], &id.public_key().as_bytes()[..]] {
            assert!(!shown.contains(&hex(&secret[..4])), "{shown}");
            let list = format!("{:?}", &secret[..4]);
            assert!(!shown.contains(&list[..list.len() - 1]), "{shown}");
        }
    }
}
