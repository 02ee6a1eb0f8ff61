//! End-to-end encryption of unicast game data: only the destination can read the body.
//!
//! **Keys.** No extra key is announced: each node's X25519 key is the Montgomery form of its
//! Ed25519 identity (the secret scalar is the first half of `SHA-512(seed)`, exactly as
//! RFC 8032 expands it; see "On using the same key pair for Ed25519 and an X25519 based KEM",
//! ePrint 2021/509). For a pair of nodes `A < B` (by id):
//!
//! ```text
//! shared = X25519(own_secret, peer_public)           (all-zero output refused)
//! prk    = HKDF-Extract(salt = "blemesh e2e v1", shared ‖ A ‖ B)
//! key    = HKDF-Expand(prk, "blemesh e2e v1 key" ‖ origin ‖ destination ‖ epoch, 32)
//! epoch  = seq >> 16                                  (rotates every 65 536 sequence numbers)
//! nonce  = origin (8 bytes BE) ‖ seq (4 bytes BE)
//! aad    = the 28-byte header with ttl and hops zeroed
//! ```
//!
//! Keys are directional (origin → destination) and **rotate** with the sender's sequence
//! number: a key never protects more than 65 536 messages, and the receiver derives the
//! sender's epoch from the frame's `seq` with no coordination. The nonce never repeats because
//! `(origin, seq)` never does ([`super::SequenceReservation`]); as a second guard,
//! [`E2eKeys::encrypt_frame`] refuses a sequence number not above the last one it used for
//! the same peer. Static-static agreement gives no forward secrecy: a stolen identity seed
//! decrypts recorded traffic of that node.
//!
//! **Body.** `body = ciphertext ‖ poly1305_tag[16]`, so `body_len` counts the tag. The header
//! (including `auth_len`) must be final before encrypting: [`E2eKeys::encrypt_frame`] sets
//! `auth_len` for the trailer layout the frame will be sealed with.
//!
//! **Cache.** One entry per peer (the PRK and the current send and receive keys), at most
//! `capacity` peers, least recently used evicted. Only new peers and new epochs cost key
//! derivation; the X25519 agreement happens once per cached peer.

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey as XPublicKey, StaticSecret};

use super::trailer::TrailerLayout;
use super::{AUTH_LEN_OFFSET, Identity, PublicKey, SealError, SecurityDrop, canonical_header};
use crate::NodeId;
use crate::wire::FRAME_HEADER_LEN;

/// Bytes the Poly1305 tag adds to an encrypted body.
pub const E2E_TAG_LEN: usize = 16;
/// Sequence-number bits per key epoch: keys rotate every `2^ROTATION_BITS` numbers.
pub const ROTATION_BITS: u32 = 16;

const PRK_SALT: &[u8] = b"blemesh e2e v1";
const KEY_INFO: &[u8] = b"blemesh e2e v1 key";

struct EpochKey {
    epoch: u32,
    cipher: ChaCha20Poly1305,
}

struct PeerKeys {
    peer: NodeId,
    prk: Hkdf<Sha256>,
    tx: Option<EpochKey>,
    rx: Option<EpochKey>,
    last_tx_seq: Option<u32>,
    last_used: u64,
}

/// This node's end-to-end key agreement and its bounded per-peer key cache.
///
/// `Debug` prints the node id and cache size only; secrets are zeroized on drop.
pub struct E2eKeys {
    own: NodeId,
    secret: StaticSecret,
    peers: Vec<PeerKeys>,
    capacity: usize,
    clock: u64,
}

impl fmt::Debug for E2eKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("E2eKeys")
            .field("node_id", &self.own)
            .field("peers", &self.peers.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// The 12-byte nonce of `(origin, seq)`.
fn nonce(origin: NodeId, seq: u32) -> Nonce {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&origin.0.to_be_bytes());
    n[8..].copy_from_slice(&seq.to_be_bytes());
    Nonce::from(n)
}

fn field_u64(frame: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&frame[at..at + 8]);
    u64::from_be_bytes(b)
}

/// `(origin, destination, seq, body range)` of a frame whose declared body fits in it.
fn parse(frame: &[u8]) -> Option<(NodeId, NodeId, u32, Range<usize>)> {
    if frame.len() < FRAME_HEADER_LEN {
        return None;
    }
    let body_end = FRAME_HEADER_LEN + usize::from(u16::from_be_bytes([frame[6], frame[7]]));
    if frame.len() < body_end || body_end - FRAME_HEADER_LEN < E2E_TAG_LEN {
        return None;
    }
    let seq = u32::from_be_bytes([frame[24], frame[25], frame[26], frame[27]]);
    Some((NodeId(field_u64(frame, 8)), NodeId(field_u64(frame, 16)), seq, FRAME_HEADER_LEN..body_end))
}

impl E2eKeys {
    /// Key agreement for `identity`, caching keys for at most `capacity` peers (at least 1).
    pub fn new(identity: &Identity, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        E2eKeys {
            own: identity.node_id(),
            secret: StaticSecret::from(*identity.x25519_secret()),
            peers: Vec::with_capacity(capacity),
            capacity,
            clock: 0,
        }
    }

    /// Peers whose keys are cached.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether no peer is cached.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Drops the cached keys of `peer` (e.g. when it leaves the mesh).
    pub fn forget(&mut self, peer: NodeId) {
        if let Ok(i) = self.peers.binary_search_by_key(&peer, |p| p.peer) {
            self.peers.remove(i);
        }
    }

    /// The cache entry of `peer`, agreeing on a new one (and evicting the least recently
    /// used) if needed. `None` if the agreement is not contributory.
    fn entry(&mut self, peer: &PublicKey) -> Option<&mut PeerKeys> {
        self.clock += 1;
        let id = peer.node_id();
        let i = match self.peers.binary_search_by_key(&id, |p| p.peer) {
            Ok(i) => i,
            Err(mut i) => {
                let shared = self.secret.diffie_hellman(&XPublicKey::from(peer.x25519()));
                if !shared.was_contributory() {
                    return None;
                }
                let (lo, hi) = if self.own < id { (self.own, id) } else { (id, self.own) };
                let mut extract = hkdf::HkdfExtract::<Sha256>::new(Some(PRK_SALT));
                extract.input_ikm(shared.as_bytes());
                extract.input_ikm(&lo.0.to_be_bytes());
                extract.input_ikm(&hi.0.to_be_bytes());
                let (_, prk) = extract.finalize();
                if self.peers.len() >= self.capacity {
                    let lru = self.peers.iter().enumerate().min_by_key(|(_, p)| p.last_used).map_or(0, |(j, _)| j);
                    self.peers.remove(lru);
                    if lru < i {
                        i -= 1;
                    }
                }
                let keys = PeerKeys { peer: id, prk, tx: None, rx: None, last_tx_seq: None, last_used: 0 };
                self.peers.insert(i, keys);
                i
            }
        };
        let entry = &mut self.peers[i];
        entry.last_used = self.clock;
        Some(entry)
    }

    /// The cipher of `slot` for `(origin → destination, epoch)`, derived if the slot holds
    /// another epoch.
    fn cipher<'a>(
        prk: &Hkdf<Sha256>,
        slot: &'a mut Option<EpochKey>,
        origin: NodeId,
        destination: NodeId,
        epoch: u32,
    ) -> &'a ChaCha20Poly1305 {
        if slot.as_ref().is_some_and(|k| k.epoch != epoch) {
            *slot = None;
        }
        let key = slot.get_or_insert_with(|| {
            let mut key = zeroize::Zeroizing::new([0u8; 32]);
            let info: [&[u8]; 4] =
                [KEY_INFO, &origin.0.to_be_bytes(), &destination.0.to_be_bytes(), &epoch.to_be_bytes()];
            // 32 bytes is far below HKDF-SHA256's limit: expansion cannot fail.
            let _ = prk.expand_multi_info(&info, &mut key[..]);
            EpochKey { epoch, cipher: ChaCha20Poly1305::new(&(*key).into()) }
        });
        &key.cipher
    }

    /// Encrypts the body of `frame` in place for `peer`, the frame's destination.
    ///
    /// `frame` holds the header (origin = this node, destination = `peer`, final `seq` and
    /// `body_len`) and the body `plaintext ‖ 16 spare bytes`; anything after the body is
    /// ignored. `auth_len` is set to `layout.auth_len()` first, since the header is associated
    /// data. Then seal the frame with that layout.
    pub fn encrypt_frame(
        &mut self,
        frame: &mut [u8],
        layout: TrailerLayout,
        peer: &PublicKey,
    ) -> Result<(), SealError> {
        let (origin, destination, seq, body) = parse(frame).ok_or(SealError::MalformedFrame)?;
        if origin != self.own || destination != peer.node_id() {
            return Err(SealError::MalformedFrame);
        }
        // `len()` is at most 112: the cast cannot truncate.
        frame[AUTH_LEN_OFFSET] = layout.auth_len() as u8;
        let aad = canonical_header(frame);
        let entry = self.entry(peer).ok_or(SealError::InvalidPeerKey)?;
        if entry.last_tx_seq.is_some_and(|last| (seq.wrapping_sub(last) as i32) <= 0) {
            return Err(SealError::SequenceReused);
        }
        entry.last_tx_seq = Some(seq);
        let cipher = Self::cipher(&entry.prk, &mut entry.tx, origin, destination, seq >> ROTATION_BITS);
        let text_len = body.len() - E2E_TAG_LEN;
        let (text, tag_out) = frame[body].split_at_mut(text_len);
        let tag = seal_detached(cipher, origin, seq, &aad, text).map_err(|_| SealError::MalformedFrame)?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    /// Decrypts the body of an authenticated frame from `peer` (its origin) to this node in
    /// place, returning where the plaintext lies in `frame`. On failure the body is left as
    /// received.
    pub fn decrypt_frame(&mut self, frame: &mut [u8], peer: &PublicKey) -> Result<Range<usize>, SecurityDrop> {
        let (origin, destination, seq, body) = parse(frame).ok_or(SecurityDrop::DecryptFailed)?;
        if origin != peer.node_id() || destination != self.own {
            return Err(SecurityDrop::DecryptFailed);
        }
        let aad = canonical_header(frame);
        let entry = self.entry(peer).ok_or(SecurityDrop::DecryptFailed)?;
        let cipher = Self::cipher(&entry.prk, &mut entry.rx, origin, destination, seq >> ROTATION_BITS);
        let text_end = body.end - E2E_TAG_LEN;
        let (text, tag) = frame[body.start..body.end].split_at_mut(text_end - body.start);
        let tag = <&[u8; E2E_TAG_LEN]>::try_from(&*tag).map_err(|_| SecurityDrop::DecryptFailed)?;
        open_detached(cipher, origin, seq, &aad, text, tag)?;
        Ok(body.start..text_end)
    }
}

/// ChaCha20-Poly1305 (RFC 8439) encryption of `text` in place under the nonce of
/// `(origin, seq)`; returns the tag. The primitive behind [`E2eKeys::encrypt_frame`].
pub(crate) fn seal_detached(
    cipher: &ChaCha20Poly1305,
    origin: NodeId,
    seq: u32,
    aad: &[u8],
    text: &mut [u8],
) -> Result<[u8; E2E_TAG_LEN], chacha20poly1305::Error> {
    cipher.encrypt_inout_detached(&nonce(origin, seq), aad, text.into()).map(Into::into)
}

/// Checks `tag` and decrypts `text` in place (left unchanged on failure). The primitive behind
/// [`E2eKeys::decrypt_frame`].
pub(crate) fn open_detached(
    cipher: &ChaCha20Poly1305,
    origin: NodeId,
    seq: u32,
    aad: &[u8],
    text: &mut [u8],
    tag: &[u8; E2E_TAG_LEN],
) -> Result<(), SecurityDrop> {
    let tag = Tag::from(*tag);
    cipher.decrypt_inout_detached(&nonce(origin, seq), aad, text.into(), &tag).map_err(|_| SecurityDrop::DecryptFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_per_epoch_and_direction_and_agree_between_peers() {
        let (a, b) = (Identity::from_seed(&[1; 32]), Identity::from_seed(&[2; 32]));
        let (mut ka, mut kb) = (E2eKeys::new(&a, 2), E2eKeys::new(&b, 2));
        let (ida, idb) = (a.node_id(), b.node_id());
        let encrypt = |keys: &mut E2eKeys, peer: &PublicKey, origin, destination, epoch| {
            let entry = keys.entry(peer).unwrap();
            let mut slot = None;
            let cipher = E2eKeys::cipher(&entry.prk, &mut slot, origin, destination, epoch);
            let mut text = [0u8; 16];
            let tag = seal_detached(cipher, NodeId(1), 1, b"", &mut text).unwrap();
            (text, tag)
        };
        // Both ends derive the same key for the same direction and epoch.
        assert_eq!(encrypt(&mut ka, b.public_key(), ida, idb, 0), encrypt(&mut kb, a.public_key(), ida, idb, 0));
        // Epochs and directions give different keys (same nonce, different keystream).
        let base = encrypt(&mut ka, b.public_key(), ida, idb, 0);
        assert_ne!(base, encrypt(&mut ka, b.public_key(), ida, idb, 1));
        assert_ne!(base, encrypt(&mut ka, b.public_key(), idb, ida, 0));
        assert_eq!(0xFFFF_u32 >> ROTATION_BITS, 0);
        assert_eq!(0x1_0000_u32 >> ROTATION_BITS, 1);
    }

    #[test]
    fn small_order_peer_keys_are_refused() {
        // A PublicKey cannot hold a small-order point; the agreement check is the backstop.
        let a = Identity::from_seed(&[3; 32]);
        let keys = E2eKeys::new(&a, 1);
        let zero = keys.secret.diffie_hellman(&XPublicKey::from([0u8; 32]));
        assert!(!zero.was_contributory());
    }
}
