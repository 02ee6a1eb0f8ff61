//! The security layer: identities, the network key, signed control plane, end-to-end
//! encryption, replay protection and trust.
//!
//! Every piece is a pure, deterministic building block operating on byte slices: nothing here
//! draws randomness, reads a clock or performs I/O. Keys come from caller-supplied bytes and
//! time is an input ([`crate::Instant`]). The layout of the bytes and the threat model are
//! documented in `docs/SECURITY.md`.
//!
//! | Module | Concept |
//! | --- | --- |
//! | [`identity`] | Ed25519 key pair per node; the [`crate::NodeId`] is bound to the public key |
//! | [`network_key`] | the mesh's shared key and the 16-byte frame integrity tag |
//! | [`keyring`] | bounded cache NodeId → public key, learned from announcements |
//! | [`trailer`] | the bytes of the frame's authentication trailer: [`trailer::seal`] and [`trailer::open`] |
//! | [`e2e`] | X25519 + ChaCha20-Poly1305 encryption of unicast game data, per-pair rotating keys |
//! | [`replay`] | per-origin sliding windows and persisted sequence reservations |
//! | [`trust`] | per-node trust scores driven by observed behaviour, decaying towards neutral |
//!
//! Receive order (see `docs/SECURITY.md`): [`trailer::open`] (network tag first, then
//! signature) → [`replay::ReplayGuard::check_and_accept`] → [`e2e::E2eKeys::decrypt_frame`]
//! for unicast game data → the rest of the node.

use core::fmt;

pub mod e2e;
pub mod identity;
pub mod keyring;
pub mod network_key;
pub mod replay;
pub mod trailer;
pub mod trust;

#[cfg(test)]
mod tests;

pub use e2e::E2eKeys;
pub use identity::{Identity, PublicKey, node_id_from_public_key, verify_binding};
pub use keyring::{KeyRing, Learned};
pub use network_key::NetworkKey;
pub use replay::{NextSeq, ReplayGuard, ReplayWindow, SequenceReservation};
pub use trailer::{Check, TrailerLayout, Verified, open, open_with, seal, seal_in_place, signature_required};
pub use trust::{Behaviour, TrustConfig, TrustTable, VoteCheck, VoteLedger};

/// Why the security layer rejected a frame. Every rejection is counted by reason.
///
/// The order of [`SecurityDrop::ALL`] and the [`SecurityDrop::name`]s are stable.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[non_exhaustive]
pub enum SecurityDrop {
    /// The frame is too short for its header, or its declared lengths do not add up.
    MalformedFrame,
    /// The frame carries no authentication trailer (`auth_len == 0`).
    MissingTrailer,
    /// `auth_len` is not one of the trailer layouts (16, 80 or 112 bytes).
    MalformedTrailer,
    /// The network-key integrity tag does not match: not from this mesh, or modified.
    BadTag,
    /// A control-plane frame without the Ed25519 signature its kind requires.
    MissingSignature,
    /// An announcement without the public key it must carry.
    MissingPublicKey,
    /// The carried public key is not a valid, non-weak Ed25519 point.
    InvalidPublicKey,
    /// The carried public key does not derive the frame's origin id.
    IdentityMismatch,
    /// A signed frame from an origin whose public key is not known yet.
    UnknownSigner,
    /// The Ed25519 signature does not verify.
    BadSignature,
    /// The sequence number was already accepted from this origin.
    Replay,
    /// The sequence number is behind the origin's sliding window.
    Stale,
    /// End-to-end decryption failed (wrong key, modified ciphertext, body too short).
    DecryptFailed,
    /// The sender is below the trust threshold and the frame was refused.
    Untrusted,
}

impl SecurityDrop {
    /// Every reason, in counter order.
    pub const ALL: [SecurityDrop; 14] = [
        SecurityDrop::MalformedFrame,
        SecurityDrop::MissingTrailer,
        SecurityDrop::MalformedTrailer,
        SecurityDrop::BadTag,
        SecurityDrop::MissingSignature,
        SecurityDrop::MissingPublicKey,
        SecurityDrop::InvalidPublicKey,
        SecurityDrop::IdentityMismatch,
        SecurityDrop::UnknownSigner,
        SecurityDrop::BadSignature,
        SecurityDrop::Replay,
        SecurityDrop::Stale,
        SecurityDrop::DecryptFailed,
        SecurityDrop::Untrusted,
    ];

    /// A stable snake_case name, for logs and metric labels.
    pub const fn name(self) -> &'static str {
        match self {
            SecurityDrop::MalformedFrame => "malformed_frame",
            SecurityDrop::MissingTrailer => "missing_trailer",
            SecurityDrop::MalformedTrailer => "malformed_trailer",
            SecurityDrop::BadTag => "bad_tag",
            SecurityDrop::MissingSignature => "missing_signature",
            SecurityDrop::MissingPublicKey => "missing_public_key",
            SecurityDrop::InvalidPublicKey => "invalid_public_key",
            SecurityDrop::IdentityMismatch => "identity_mismatch",
            SecurityDrop::UnknownSigner => "unknown_signer",
            SecurityDrop::BadSignature => "bad_signature",
            SecurityDrop::Replay => "replay",
            SecurityDrop::Stale => "stale",
            SecurityDrop::DecryptFailed => "decrypt_failed",
            SecurityDrop::Untrusted => "untrusted",
        }
    }

    /// The position of this reason in [`SecurityDrop::ALL`], for counter arrays.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SecurityDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SecurityDrop {}

/// One counter per [`SecurityDrop`], for the node's metrics. Updating never allocates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecurityDropCounts([u64; SecurityDrop::ALL.len()]);

impl SecurityDropCounts {
    /// Counts one drop.
    pub fn add(&mut self, reason: SecurityDrop) {
        self.0[reason.index()] += 1;
    }

    /// The count for one reason.
    pub fn get(&self, reason: SecurityDrop) -> u64 {
        self.0[reason.index()]
    }

    /// The sum over all reasons.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(reason, count)` for every reason, including zero counts.
    pub fn iter(&self) -> impl Iterator<Item = (SecurityDrop, u64)> + '_ {
        SecurityDrop::ALL.iter().map(|r| (*r, self.0[r.index()]))
    }
}

/// Why a frame could not be sealed. These are caller bugs or exhausted resources, never
/// something a peer can cause.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[non_exhaustive]
pub enum SealError {
    /// The bytes are not `header ‖ body` with the header's `body_len` (and, for
    /// [`trailer::seal`], `auth_len` equal to the layout's length).
    MalformedFrame,
    /// The layout needs a signature but no identity was given, or the identity's id is not
    /// the frame's origin.
    WrongSigner,
    /// The output buffer is smaller than the trailer.
    BufferTooSmall,
    /// The peer's public key gives no usable X25519 agreement (small-order point).
    InvalidPeerKey,
    /// End-to-end encryption was asked to reuse a sequence number (hence a nonce) for a peer.
    SequenceReused,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealError::MalformedFrame => "malformed frame",
            SealError::WrongSigner => "wrong or missing signer",
            SealError::BufferTooSmall => "buffer too small",
            SealError::InvalidPeerKey => "invalid peer key",
            SealError::SequenceReused => "sequence number reused",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SealError {}

/// Copies the 28-byte frame header with TTL and hop count zeroed: the form every tag,
/// signature and AEAD associated data covers, so that relays may rewrite both fields.
///
/// `frame` must hold at least [`crate::wire::FRAME_HEADER_LEN`] bytes.
pub(crate) fn canonical_header(frame: &[u8]) -> [u8; crate::wire::FRAME_HEADER_LEN] {
    let mut h = [0u8; crate::wire::FRAME_HEADER_LEN];
    h.copy_from_slice(&frame[..crate::wire::FRAME_HEADER_LEN]);
    h[TTL_OFFSET] = 0;
    h[HOPS_OFFSET] = 0;
    h
}

/// Offset of the TTL byte in the frame header.
pub(crate) const TTL_OFFSET: usize = 3;
/// Offset of the hop-count byte in the frame header.
pub(crate) const HOPS_OFFSET: usize = 4;
/// Offset of the `auth_len` byte in the frame header.
pub(crate) const AUTH_LEN_OFFSET: usize = 5;
