//! Ballot signing through an identity abstraction.
//!
//! The election signs every message it sends with a [`BallotSigner`] and checks every message
//! it receives with a [`BallotVerifier`], over [`ElectionMessage::signing_bytes`]. The
//! signature travels in the frame's authentication trailer. [`TestKeys`] is a deterministic,
//! **non-cryptographic** implementation for tests and simulations; the security layer
//! supplies Ed25519.

use alloc::vec::Vec;
use core::fmt;

use super::ElectionMessage;
use crate::NodeId;

/// A 64-byte signature (the size of Ed25519's).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(")?;
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("..)")
    }
}

/// Signs this node's ballots.
pub trait BallotSigner {
    /// Signs `ballot` (the output of [`ElectionMessage::signing_bytes`]).
    fn sign(&mut self, ballot: &[u8]) -> Signature;
}

/// The outcome of checking a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Signed by that node.
    Valid,
    /// The signer is known but the signature does not match.
    BadSignature,
    /// No key is known for the claimed signer.
    UnknownSigner,
}

/// Checks other nodes' ballots.
pub trait BallotVerifier {
    /// Checks that `signature` over `ballot` was made by `signer`.
    fn verify(&self, signer: NodeId, ballot: &[u8], signature: &Signature) -> Verification;
}

/// Signs an election message as `sender`.
pub fn sign_message(signer: &mut impl BallotSigner, sender: NodeId, message: &ElectionMessage) -> Signature {
    signer.sign(&message.signing_bytes(sender))
}

/// Checks an election message claimed to come from `sender`.
pub fn verify_message(
    verifier: &impl BallotVerifier,
    sender: NodeId,
    message: &ElectionMessage,
    signature: &Signature,
) -> Verification {
    verifier.verify(sender, &message.signing_bytes(sender), signature)
}

fn mix(mut z: u64) -> u64 {
    // splitmix64 finaliser.
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic test keys: every node's secret derives from one seed. **Not** cryptographic
/// (anyone knowing the seed can sign as anyone); for tests and simulations only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestKeys {
    seed: u64,
}

impl TestKeys {
    /// Keys derived from `seed`.
    pub const fn new(seed: u64) -> Self {
        TestKeys { seed }
    }

    fn secret(&self, node: NodeId) -> u64 {
        mix(self.seed ^ mix(node.0))
    }

    fn signature(secret: u64, ballot: &[u8]) -> Signature {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ secret; // FNV-1a, keyed
        for &b in ballot {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut out = [0u8; 64];
        for (i, lane) in out.chunks_exact_mut(8).enumerate() {
            lane.copy_from_slice(&mix(h ^ secret.rotate_left(i as u32 * 8) ^ i as u64).to_be_bytes());
        }
        Signature(out)
    }

    /// The signer of `node`.
    pub fn signer(&self, node: NodeId) -> TestSigner {
        TestSigner { secret: self.secret(node) }
    }

    /// A verifier that knows the keys of `known` (and of no other node).
    pub fn verifier(&self, known: &[NodeId]) -> TestVerifier {
        let mut known = known.to_vec();
        known.sort_unstable();
        known.dedup();
        TestVerifier { keys: *self, known }
    }
}

/// [`BallotSigner`] of [`TestKeys`].
#[derive(Clone, Debug)]
pub struct TestSigner {
    secret: u64,
}

impl BallotSigner for TestSigner {
    fn sign(&mut self, ballot: &[u8]) -> Signature {
        TestKeys::signature(self.secret, ballot)
    }
}

/// [`BallotVerifier`] of [`TestKeys`].
#[derive(Clone, Debug)]
pub struct TestVerifier {
    keys: TestKeys,
    known: Vec<NodeId>,
}

impl BallotVerifier for TestVerifier {
    fn verify(&self, signer: NodeId, ballot: &[u8], signature: &Signature) -> Verification {
        if self.known.binary_search(&signer).is_err() {
            return Verification::UnknownSigner;
        }
        if TestKeys::signature(self.keys.secret(signer), ballot) == *signature {
            Verification::Valid
        } else {
            Verification::BadSignature
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_keys_sign_and_verify() {
        let keys = TestKeys::new(1);
        let v = keys.verifier(&[NodeId(1), NodeId(2)]);
        let sig = keys.signer(NodeId(1)).sign(b"ballot");
        assert_eq!(sig, keys.signer(NodeId(1)).sign(b"ballot"), "deterministic");
        assert_eq!(v.verify(NodeId(1), b"ballot", &sig), Verification::Valid);
        assert_eq!(v.verify(NodeId(2), b"ballot", &sig), Verification::BadSignature);
        assert_eq!(v.verify(NodeId(1), b"ballou", &sig), Verification::BadSignature);
        assert_eq!(v.verify(NodeId(3), b"ballot", &sig), Verification::UnknownSigner);
        let other = TestKeys::new(2).signer(NodeId(1)).sign(b"ballot");
        assert_eq!(v.verify(NodeId(1), b"ballot", &other), Verification::BadSignature);
        assert!(alloc::format!("{sig:?}").starts_with("Signature("));
    }
}
