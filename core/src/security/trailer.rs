//! The authentication trailer: the `auth_len` bytes after a frame's body.
//!
//! Three layouts, told apart by `auth_len` alone (the header's `auth_len` is itself covered
//! by the tag and the signature, so it cannot be changed to reinterpret a trailer):
//!
//! ```text
//! auth_len  layout            bytes
//!    16     Tag               tag[16]
//!    80     Signed            signature[64] ‖ tag[16]
//!   112     SignedWithKey     public_key[32] ‖ signature[64] ‖ tag[16]
//! ```
//!
//! With `H'` the 28-byte header with `ttl` and `hops` set to zero (relays change both):
//!
//! * `signature = Ed25519(origin_secret, "blemesh-frame-v1" ‖ SHA-512(H' ‖ body ‖ public_key?))`
//!   — pure Ed25519 over an 80-byte, domain-separated digest of the frame;
//! * `tag = HMAC-SHA256(network_tag_key, H' ‖ body ‖ public_key? ‖ signature?)[..16]`.
//!
//! [`signature_required`] kinds (announcements, topology updates, routing control) must be
//! signed; announcements and topology updates carry the key ([`TrailerLayout::for_kind`]).
//! Other kinds normally carry the tag alone but may be signed; election messages are signed
//! inside their body (ballot signature).
//!
//! [`open`] never allocates: it checks the lengths, then the tag (one HMAC), and only then
//! parses and verifies the rest. [`seal`] writes into a caller-provided buffer.

use alloc::vec::Vec;
use core::ops::Range;

use sha2::{Digest, Sha512};

use super::identity::{PUBLIC_KEY_LEN, SIGNATURE_LEN};
use super::network_key::TAG_LEN;
use super::{AUTH_LEN_OFFSET, Identity, KeyRing, NetworkKey, PublicKey, SealError, SecurityDrop, canonical_header};
use crate::NodeId;
use crate::wire::{FRAME_HEADER_LEN, Kind};

/// Domain separation prefix of every frame signature (16 bytes).
pub const SIGNATURE_CONTEXT: &[u8; 16] = b"blemesh-frame-v1";
/// The longest trailer, [`TrailerLayout::SignedWithKey`].
pub const MAX_TRAILER_LEN: usize = PUBLIC_KEY_LEN + SIGNATURE_LEN + TAG_LEN;

/// Which of the three trailer layouts a frame uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum TrailerLayout {
    /// Network tag only (16 bytes).
    Tag,
    /// Ed25519 signature and network tag (80 bytes).
    Signed,
    /// Public key, Ed25519 signature and network tag (112 bytes).
    SignedWithKey,
}

impl TrailerLayout {
    /// Bytes of the trailer, the value of the header's `auth_len`.
    pub const fn auth_len(self) -> usize {
        match self {
            TrailerLayout::Tag => TAG_LEN,
            TrailerLayout::Signed => SIGNATURE_LEN + TAG_LEN,
            TrailerLayout::SignedWithKey => MAX_TRAILER_LEN,
        }
    }

    /// The layout an `auth_len` denotes, if any.
    pub const fn from_auth_len(auth_len: usize) -> Option<Self> {
        match auth_len {
            16 => Some(TrailerLayout::Tag),
            80 => Some(TrailerLayout::Signed),
            112 => Some(TrailerLayout::SignedWithKey),
            _ => None,
        }
    }

    /// The layout a sender uses for `kind`: announcements carry the key, other
    /// [`signature_required`] kinds are signed, the rest carry the tag alone.
    pub const fn for_kind(kind: Kind) -> Self {
        match kind {
            // Adverts carry the key too: one may arrive before its origin's announcement,
            // and must not wait a refresh interval to become verifiable.
            Kind::Announcement | Kind::TopologyUpdate => TrailerLayout::SignedWithKey,
            k if signature_required(k) => TrailerLayout::Signed,
            _ => TrailerLayout::Tag,
        }
    }

    /// Whether the layout carries a signature.
    pub const fn has_signature(self) -> bool {
        !matches!(self, TrailerLayout::Tag)
    }

    /// Whether the layout carries the signer's public key.
    pub const fn has_key(self) -> bool {
        matches!(self, TrailerLayout::SignedWithKey)
    }

    const fn key_len(self) -> usize {
        if self.has_key() { PUBLIC_KEY_LEN } else { 0 }
    }
}

/// Whether frames of `kind` must carry the origin's Ed25519 signature in the trailer: the
/// control plane (announcements, topology updates, routing control). Election messages carry
/// a ballot signature in their body instead (`docs/PROTOCOL.md` §6.7). Link heartbeats, game data and acknowledgements rely on the network tag
/// (and, for unicast game data, on end-to-end encryption).
pub const fn signature_required(kind: Kind) -> bool {
    // Election frames carry their own ballot signature in the body (over the sender and every
    // body byte, checked against the sender's key), so a frame signature would only double
    // the signing and push a ballot past one BLE PDU.
    matches!(kind, Kind::Announcement | Kind::TopologyUpdate | Kind::RoutingUpdate)
}

/// What [`open`] established about an authentic frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The origin (authenticated by the tag; by the signature when `signed`).
    pub origin: NodeId,
    /// The origin's sequence number, for [`super::ReplayGuard`].
    pub seq: u32,
    /// The message kind.
    pub kind: Kind,
    /// The trailer layout.
    pub layout: TrailerLayout,
    /// Whether an Ed25519 signature of the origin was verified.
    pub signed: bool,
    /// The public key the frame carried, bound to `origin` and proven by the signature: the
    /// caller should [`KeyRing::learn`] it.
    pub carried_key: Option<PublicKey>,
    /// Where the body lies in the frame.
    pub body: Range<usize>,
}

/// `SIGNATURE_CONTEXT ‖ SHA-512(H' ‖ body ‖ key)`: the message every frame signature covers.
pub(crate) fn signed_message(header: &[u8; FRAME_HEADER_LEN], body: &[u8], key: &[u8]) -> [u8; 80] {
    let digest = Sha512::new().chain_update(header).chain_update(body).chain_update(key).finalize();
    let mut m = [0u8; 80];
    m[..16].copy_from_slice(SIGNATURE_CONTEXT);
    m[16..].copy_from_slice(&digest);
    m
}

/// Checks `frame` is `header ‖ body ‖ auth_len bytes` and returns `(body_len, auth_len)`.
fn lengths(frame: &[u8]) -> Option<(usize, usize)> {
    if frame.len() < FRAME_HEADER_LEN {
        return None;
    }
    let auth_len = usize::from(frame[AUTH_LEN_OFFSET]);
    let body_len = usize::from(u16::from_be_bytes([frame[6], frame[7]]));
    (frame.len() == FRAME_HEADER_LEN + body_len + auth_len).then_some((body_len, auth_len))
}

fn origin_of(frame: &[u8]) -> NodeId {
    let mut b = [0u8; 8];
    b.copy_from_slice(&frame[8..16]);
    NodeId(u64::from_be_bytes(b))
}

/// Computes the trailer of `frame` (`header ‖ body`, whose header already has `auth_len =
/// layout.auth_len()`) into `out[..layout.auth_len()]`, and returns `layout.auth_len()`.
///
/// `identity` signs: it is required for signed layouts and must be the frame's origin.
/// TTL and hop count may hold any value; they are not covered. Never allocates.
pub fn seal(
    frame: &[u8],
    layout: TrailerLayout,
    network: &NetworkKey,
    identity: Option<&Identity>,
    out: &mut [u8],
) -> Result<usize, SealError> {
    let len = layout.auth_len();
    // `frame` is `header ‖ body`; its header announces the trailer about to be appended.
    if frame.len() < FRAME_HEADER_LEN
        || usize::from(frame[AUTH_LEN_OFFSET]) != len
        || frame.len() != FRAME_HEADER_LEN + usize::from(u16::from_be_bytes([frame[6], frame[7]]))
    {
        return Err(SealError::MalformedFrame);
    }
    let out = out.get_mut(..len).ok_or(SealError::BufferTooSmall)?;
    let header = canonical_header(frame);
    let body = &frame[FRAME_HEADER_LEN..];
    let (covered, tag_out) = out.split_at_mut(len - TAG_LEN);
    if layout.has_signature() {
        let id = identity.ok_or(SealError::WrongSigner)?;
        if id.node_id() != origin_of(frame) {
            return Err(SealError::WrongSigner);
        }
        let (key_out, sig_out) = covered.split_at_mut(layout.key_len());
        key_out.copy_from_slice(&id.public_key().as_bytes()[..layout.key_len()]);
        sig_out.copy_from_slice(&id.sign(&signed_message(&header, body, key_out)));
    }
    tag_out.copy_from_slice(&network.tag(&[&header, body, covered]));
    Ok(len)
}

/// Seals a frame held in a vector: sets the header's `auth_len`, appends the trailer and
/// returns the new frame length. `frame` must be `header ‖ body` without a trailer (as
/// [`crate::wire::encode_frame`] writes it). Allocation-free when the vector has room for
/// [`MAX_TRAILER_LEN`] more bytes.
pub fn seal_in_place(
    frame: &mut Vec<u8>,
    layout: TrailerLayout,
    network: &NetworkKey,
    identity: Option<&Identity>,
) -> Result<usize, SealError> {
    if frame.len() < FRAME_HEADER_LEN {
        return Err(SealError::MalformedFrame);
    }
    let start = frame.len();
    // `len()` is at most 112: the cast cannot truncate.
    frame[AUTH_LEN_OFFSET] = layout.auth_len() as u8;
    frame.resize(start + layout.auth_len(), 0);
    let (unsealed, trailer) = frame.split_at_mut(start);
    match seal(unsealed, layout, network, identity, trailer) {
        Ok(_) => Ok(frame.len()),
        Err(e) => {
            frame.truncate(start);
            frame[AUTH_LEN_OFFSET] = 0;
            Err(e)
        }
    }
}

/// How much of a frame [`open_with`] proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Everything [`open`] checks.
    Full,
    /// Everything but the Ed25519 signature: for a frame whose `(origin, seq)` the receiver
    /// has already accepted, which is dropped as a duplicate whatever its signature says.
    /// The network tag is still checked (an outsider's copy costs one HMAC and touches
    /// nothing); a carried key is reported only when the ring already holds those exact
    /// bytes for the origin (refreshing an entry, never adding one); `signed` is false.
    Duplicate,
}

/// Authenticates a received frame (header, body and trailer) without allocating.
///
/// Order: lengths → layout → **network tag** (so that outsiders' frames cost one HMAC) →
/// kind and origin → signature policy → carried key and its binding → signature (under the
/// carried key, or the key `keys` holds for the origin). TTL and hop count are ignored.
/// Replay checks come after this, on [`Verified::seq`]. A carried key the ring already holds
/// is not decompressed again.
pub fn open(frame: &[u8], network: &NetworkKey, keys: &KeyRing) -> Result<Verified, SecurityDrop> {
    open_with(frame, network, keys, Check::Full)
}

/// [`open`], proving only as much as `check` asks.
pub fn open_with(frame: &[u8], network: &NetworkKey, keys: &KeyRing, check: Check) -> Result<Verified, SecurityDrop> {
    let (body_len, auth_len) = lengths(frame).ok_or(SecurityDrop::MalformedFrame)?;
    if auth_len == 0 {
        return Err(SecurityDrop::MissingTrailer);
    }
    let layout = TrailerLayout::from_auth_len(auth_len).ok_or(SecurityDrop::MalformedTrailer)?;
    let header = canonical_header(frame);
    let body_end = FRAME_HEADER_LEN + body_len;
    let body = &frame[FRAME_HEADER_LEN..body_end];
    let (covered, tag) = frame[body_end..].split_at(auth_len - TAG_LEN);
    if !network.verify(&[&header, body, covered], tag) {
        return Err(SecurityDrop::BadTag);
    }

    let kind = Kind::from_u8(frame[1]).ok_or(SecurityDrop::MalformedFrame)?;
    let origin = origin_of(frame);
    if !origin.is_unicast() {
        return Err(SecurityDrop::MalformedFrame);
    }
    if signature_required(kind) && !layout.has_signature() {
        return Err(SecurityDrop::MissingSignature);
    }
    if kind == Kind::Announcement && !layout.has_key() {
        return Err(SecurityDrop::MissingPublicKey);
    }
    let (key_bytes, signature) = covered.split_at(layout.key_len());
    let held = keys.get(origin);
    let carried_key = match <&[u8; PUBLIC_KEY_LEN]>::try_from(key_bytes) {
        // The ring's entry for the origin is bound to it by construction: the same bytes
        // need neither decompressing nor binding again.
        Ok(bytes) if held.is_some_and(|k| k.as_bytes() == bytes) => held.copied(),
        Ok(_) if check == Check::Duplicate => None,
        Ok(bytes) => {
            let key = PublicKey::from_bytes(bytes)?;
            if key.node_id() != origin {
                return Err(SecurityDrop::IdentityMismatch);
            }
            Some(key)
        }
        Err(_) => None,
    };
    let signature = <&[u8; SIGNATURE_LEN]>::try_from(signature).ok().filter(|_| check == Check::Full);
    if let Some(signature) = signature {
        let signer = carried_key.as_ref().or(held).ok_or(SecurityDrop::UnknownSigner)?;
        signer.verify(&signed_message(&header, body, key_bytes), signature)?;
    }
    let mut seq = [0u8; 4];
    seq.copy_from_slice(&frame[24..28]);
    Ok(Verified {
        origin,
        seq: u32::from_be_bytes(seq),
        kind,
        layout,
        signed: layout.has_signature() && check == Check::Full,
        carried_key,
        body: FRAME_HEADER_LEN..body_end,
    })
}
