//! The **view** a vote agrees to: a 64-bit digest of the voter set.
//!
//! Raft's safety argument — two majorities of one voter set share a voter, and a voter votes
//! once per term — needs every voter of a term to count the same voter set. Per partition the
//! voter set is the node's own component, which nodes learn at different times, so two
//! candidates of one term that counted different components could each gather a majority of
//! their own view without a shared voter (a single node alone in its view elects itself in
//! term 1; so does another; their components then merge). Every election message therefore
//! carries its sender's [`ViewDigest`], and:
//!
//! * a voter answers a (pre-)vote request only when the candidate's view equals its own (a
//!   request for another view is kept and answered once this node's view matches, see
//!   `handle_request.rs`);
//! * a candidate counts only grants that carry its own view, and asks again (same term, new
//!   view) when its view changes;
//! * a node follows a coordinator only when the heartbeat's view equals its own;
//! * a coordinator whose view changes no longer holds the term it was elected in for that view:
//!   it steps down and campaigns at once for a new term under the new view.
//!
//! So two coordinators of one term with one view would need a voter that voted twice in the
//! term: the same partition (same view) never follows two coordinators in one term. In quorum
//! mode the view is the configured membership, the same on every node, and the promise is
//! Raft's: at most one coordinator per term.
//!
//! The digest is the first 8 bytes of SHA-256 over `"BMVW"` and the sorted voter ids (each
//! 8 bytes, big-endian). It is not a security mechanism: Byzantine safety rests on signed
//! ballots and the `2f+1` threshold ([`super::Election::threshold`]), a forged view only
//! makes honest voters ignore the forger.

use sha2::{Digest, Sha256};

use crate::NodeId;

/// A digest of a sorted voter set (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ViewDigest(pub u64);

const DOMAIN: &[u8; 4] = b"BMVW";

impl ViewDigest {
    /// The digest of `voters`, which must be sorted and free of duplicates (as
    /// [`super::Election::voters`] are).
    pub fn of(voters: &[NodeId]) -> Self {
        debug_assert!(voters.windows(2).all(|w| w[0] < w[1]), "voters must be sorted and distinct");
        let mut h = Sha256::new();
        h.update(DOMAIN);
        for v in voters {
            h.update(v.0.to_be_bytes());
        }
        let out = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&out[..8]);
        ViewDigest(u64::from_be_bytes(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_names_the_set_exactly() {
        let a = ViewDigest::of(&[NodeId(1), NodeId(2), NodeId(3)]);
        assert_eq!(a, ViewDigest::of(&[NodeId(1), NodeId(2), NodeId(3)]));
        assert_ne!(a, ViewDigest::of(&[NodeId(1), NodeId(2)]));
        assert_ne!(a, ViewDigest::of(&[NodeId(1), NodeId(2), NodeId(4)]));
        assert_ne!(ViewDigest::of(&[NodeId(1)]), ViewDigest::of(&[NodeId(2)]));
        assert_ne!(ViewDigest::of(&[]), ViewDigest::of(&[NodeId(0)]));
    }

    #[test]
    fn golden_digest() {
        // The values of docs/PROTOCOL.md §6.7, computed independently (Python's hashlib).
        assert_eq!(ViewDigest::of(&[NodeId(1), NodeId(2)]), ViewDigest(0x5cbd_d4d2_af65_2a68));
        let abcd = [0xa1a2_a3a4_a5a6_a7a8, 0xb1b2_b3b4_b5b6_b7b8, 0xc1c2_c3c4_c5c6_c7c8, 0xd1d2_d3d4_d5d6_d7d8];
        assert_eq!(ViewDigest::of(&abcd.map(NodeId)), ViewDigest(0xa2a8_e183_2d4a_861e));
    }
}
