//! The node's side of security: sealing what it sends, opening what it receives, end-to-end
//! encryption of unicast game data, persisted sequence numbers and trust.
//!
//! A node built with [`Node::new_secure`] belongs to one mesh (its network key) under one
//! identity (its Ed25519 key, from which its node id derives). Then:
//!
//! * **Send**: every frame it encodes is sealed (`docs/SECURITY.md`): a network-key tag on
//!   all, an Ed25519 signature on the control plane, the public key on announcements. Unicast
//!   game data is encrypted to its destination first. Relayed frames are passed on as they
//!   came (TTL and hop count are outside tag and signature).
//! * **Receive**: [`crate::security::open`] runs before anything else, so frames from outside
//!   the mesh cost one HMAC and are dropped. Keys carried by announcements are learned. The
//!   flood layer's per-origin window, which runs after authentication, is the replay check.
//!   Unicast game data for this node is decrypted in a pooled buffer.
//! * **Sequence numbers** come from a [`SequenceReservation`]: whenever a new block is
//!   started, [`Event::PersistSequence`] asks the runtime to store the high-water mark, so a
//!   restarted node never reuses a number (end-to-end nonces depend on it).
//! * **Trust**: frames with a bad signature or a key that does not match their origin are
//!   charged to the neighbour that transmitted them; a next hop whose traffic goes
//!   unacknowledged end to end is charged a little, and credited when acknowledgements come.
//!   A node whose trust falls below the threshold has its adverts removed from the routing
//!   database (and ignored until trusted again), so routes avoid it.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::Node;
use crate::security::{
    Behaviour, E2eKeys, Identity, KeyRing, NetworkKey, SecurityDrop, SequenceReservation,
    Check, TrailerLayout, TrustConfig, TrustTable, open_with, seal_in_place,
};
use super::transmit::destination_of;
use crate::wire::{FRAME_HEADER_LEN, FrameHeader, Kind};
use zerocopy::FromBytes;
use crate::{Config, ConfigError, Destination, Event, Instant, LinkId, NodeId};

/// Bytes of the end-to-end authentication tag appended to encrypted bodies.
pub(crate) const E2E_TAG: usize = crate::security::e2e::E2E_TAG_LEN;

/// What makes a node a member of a secured mesh.
#[non_exhaustive]
pub struct Security {
    /// This node's key pair; [`Config::node_id`] must be its node id.
    pub identity: Identity,
    /// The mesh's shared key (the game session's).
    pub network_key: NetworkKey,
    /// How trust moves and when a node stops being trusted.
    pub trust: TrustConfig,
    /// The sequence high-water mark last persisted ([`Event::PersistSequence`]), 0 for a
    /// new identity.
    pub restored_high_water: u64,
    /// Sequence numbers reserved per persisted mark. Default 4096.
    pub sequence_block: u32,
}

impl Security {
    /// Membership with default trust parameters, for a new identity.
    pub fn new(identity: Identity, network_key: NetworkKey) -> Self {
        Security { identity, network_key, trust: TrustConfig::default(), restored_high_water: 0, sequence_block: 4096 }
    }

    /// The same membership resuming after a restart from a persisted high-water mark.
    pub fn restored(mut self, high_water: u64) -> Self {
        self.restored_high_water = high_water;
        self
    }
}

impl core::fmt::Debug for Security {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Security")
            .field("identity", &self.identity)
            .field("network_key", &self.network_key)
            .field("restored_high_water", &self.restored_high_water)
            .finish_non_exhaustive()
    }
}

/// The security state of a running node.
#[derive(Debug)]
pub(super) struct SecureState {
    // (`keyring_get` below is how the election checks ballots against learned keys.)
    identity: Identity,
    network: NetworkKey,
    keyring: KeyRing,
    e2e: E2eKeys,
    trust: TrustTable,
    sequence: SequenceReservation,
}

impl SecureState {
    /// The learned public key of `node`.
    pub(super) fn keyring_get(&self, node: NodeId) -> Option<&crate::security::PublicKey> {
        self.keyring.get(node)
    }
}

impl Node {
    /// A node of a secured mesh: every frame it sends is authenticated under `security`'s
    /// network key (and signed by its identity where the protocol says so), and it accepts
    /// only frames that authenticate. Fails if the configuration is invalid or
    /// [`Config::node_id`] is not the identity's node id.
    pub fn new_secure(config: Config, security: Security, now: Instant) -> Result<Self, ConfigError> {
        if config.node_id != security.identity.node_id() {
            return Err(ConfigError { field: "node_id", problem: "must be the node id of the security identity" });
        }
        let ballots = alloc::boxed::Box::new(Node::identity_for_ballots(&security));
        let signer = super::election::NodeSigner::Ed25519(ballots);
        let mut node = Node::build(config, signer, now)?;
        node.flood.never_reset_idle_windows();
        let capacity = node.config.max_nodes;
        node.secure = Some(Box::new(SecureState {
            e2e: E2eKeys::new(&security.identity, capacity),
            keyring: KeyRing::new(capacity),
            trust: TrustTable::new(security.trust, capacity),
            sequence: SequenceReservation::restore(security.restored_high_water, security.sequence_block),
            identity: security.identity,
            network: security.network_key,
        }));
        Ok(node)
    }

    /// Whether this node authenticates its traffic.
    pub fn is_secure(&self) -> bool {
        self.secure.is_some()
    }

    /// Trust in `node` at `now` (neutral for unknown nodes); `None` on an unsecured node.
    pub fn trust(&self, node: NodeId) -> Option<f32> {
        self.secure.as_ref().map(|s| s.trust.score(node, self.now))
    }

    /// Bytes the security layer adds to a frame at most (trailer and end-to-end tag).
    pub(super) fn security_overhead(&self) -> usize {
        if self.secure.is_some() { crate::security::trailer::MAX_TRAILER_LEN + E2E_TAG } else { 0 }
    }

    /// The next sequence number of this node's frames. On a secured node it comes from the
    /// persisted reservation (`None` once the 2^32 numbers of the identity are spent).
    pub(super) fn take_seq(&mut self) -> Option<u32> {
        let Some(s) = self.secure.as_mut() else {
            self.seq = self.seq.wrapping_add(1);
            return Some(self.seq);
        };
        let next = s.sequence.next_seq()?;
        if let Some(high_water) = next.persist {
            self.outbox.push_event(Event::PersistSequence { high_water }, &mut self.metrics);
        }
        self.seq = next.seq;
        Some(next.seq)
    }

    /// Whether a unicast game frame to `to` can be encrypted (always true when unsecured).
    pub(super) fn can_encrypt_to(&self, to: NodeId) -> bool {
        self.secure.as_ref().is_none_or(|s| s.keyring.get(to).is_some())
    }

    /// Whether unicast game data is encrypted (its body then ends with 16 spare bytes).
    pub(super) fn encrypts(&self) -> bool {
        self.secure.is_some()
    }

    /// Seals an encoded frame in place (encrypting unicast game data first). Returns false,
    /// counting nothing, if that is impossible (unknown destination key, or a caller bug).
    pub(super) fn seal(&mut self, frame: &mut Vec<u8>) -> bool {
        let Some(s) = self.secure.as_mut() else { return true };
        let Ok((header, _)) = FrameHeader::ref_from_prefix(frame.as_slice()) else { return false };
        let Some(kind) = Kind::from_u8(header.kind) else { return false };
        let layout = TrailerLayout::for_kind(kind);
        if let (Kind::GameData, Destination::Node(dst)) = (kind, header.destination()) {
            let Some(peer) = s.keyring.get(dst) else { return false };
            let peer = *peer;
            if s.e2e.encrypt_frame(frame, layout, &peer).is_err() {
                return false;
            }
        }
        seal_in_place(frame, layout, &s.network, Some(&s.identity)).is_ok()
    }

    /// Authenticates a received frame. `Ok(None)`: nothing to undo, process `bytes` as they
    /// are. `Ok(Some(buf))`: the frame was decrypted into `buf` (a pooled buffer to give
    /// back), process that instead. `Err`: dropped and counted.
    pub(super) fn authenticate(&mut self, now: Instant, link: LinkId, bytes: &[u8]) -> Result<Option<Vec<u8>>, ()> {
        let me = self.config.node_id;
        if self.secure.is_none() {
            return Ok(None);
        }
        // A copy of a multi-hop frame already accepted is dropped as a duplicate whatever its
        // signature says: check its network tag (so outsiders touch nothing), not its
        // Ed25519 signature, the costly part of the receive path.
        let duplicate = FrameHeader::ref_from_prefix(bytes).ok().is_some_and(|(h, _)| {
            Kind::from_u8(h.kind).is_some_and(Kind::is_multi_hop)
                && self.flood.has_seen(&crate::MessageId { origin: h.origin(), seq: h.seq.get() })
        });
        let check = if duplicate { Check::Duplicate } else { Check::Full };
        let s = self.secure.as_mut().expect("checked above");
        let verified = match open_with(bytes, &s.network, &s.keyring, check) {
            Ok(v) => v,
            Err(reason) => {
                self.metrics.security.add(reason);
                let blame = match reason {
                    SecurityDrop::BadSignature | SecurityDrop::InvalidPublicKey => Some(Behaviour::InvalidSignature),
                    SecurityDrop::IdentityMismatch => Some(Behaviour::IdentityMismatch),
                    _ => None,
                };
                let neighbour = self.links.get(link).map(|l| l.peer).filter(|p| p.is_unicast());
                if let (Some(behaviour), Some(neighbour)) = (blame, neighbour) {
                    s.trust.record(neighbour, behaviour, now);
                    self.distrust_if_needed(neighbour, now);
                }
                return Err(());
            }
        };
        if let Some(key) = verified.carried_key {
            s.keyring.learn(&key, now);
        }
        if duplicate || verified.kind != Kind::GameData || destination_of(bytes) != Some(Destination::Node(me)) {
            return Ok(None);
        }
        let Some(peer) = s.keyring.get(verified.origin).copied() else {
            self.metrics.security.add(SecurityDrop::DecryptFailed);
            return Err(());
        };
        let mut buf = self.outbox.take_buf();
        buf.extend_from_slice(bytes);
        let s = self.secure.as_mut().expect("checked above");
        match s.e2e.decrypt_frame(&mut buf, &peer) {
            Ok(plain) => {
                // Drop the end-to-end tag from the body so the frame parses as plain data.
                let tag = plain.end..plain.end + E2E_TAG;
                buf.drain(tag);
                let body_len = (plain.end - FRAME_HEADER_LEN) as u16;
                buf[6..8].copy_from_slice(&body_len.to_be_bytes());
                Ok(Some(buf))
            }
            Err(reason) => {
                self.metrics.security.add(reason);
                self.outbox.give_buf(buf);
                Err(())
            }
        }
    }

    /// The identity's second handle for the election's ballot signer.
    pub(super) fn identity_for_ballots(security: &Security) -> Identity {
        security.identity.duplicate()
    }

    /// Records behaviour of `node` and reroutes around it if it is no longer trusted.
    pub(super) fn judge(&mut self, node: NodeId, behaviour: Behaviour, now: Instant) {
        if let Some(s) = self.secure.as_mut() {
            s.trust.record(node, behaviour, now);
            self.distrust_if_needed(node, now);
        }
    }

    /// Whether adverts of `node` may enter the routing database.
    pub(super) fn trusted(&self, node: NodeId) -> bool {
        self.secure.as_ref().is_none_or(|s| s.trust.is_trusted(node, self.now))
    }

    fn distrust_if_needed(&mut self, node: NodeId, now: Instant) {
        let untrusted = self.secure.as_ref().is_some_and(|s| !s.trust.is_trusted(node, now));
        if untrusted && self.router.remove_origin(node) {
            self.refresh_routes();
        }
    }
}
