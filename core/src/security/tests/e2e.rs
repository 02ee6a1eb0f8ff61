//! End-to-end encryption of unicast game data, through sealing and opening.

use alloc::vec::Vec;

use super::{network, node, ring_of, unsealed};
use crate::Destination;
use crate::security::e2e::E2E_TAG_LEN;
use crate::security::{
    E2eKeys, Identity, SealError, SecurityDrop, TrailerLayout, canonical_header, open, seal_in_place,
};
use crate::wire::frame::set_ttl_and_hops;
use crate::wire::{FRAME_HEADER_LEN, Kind};

/// Builds, encrypts and seals a game-data frame from `from` to `to`.
fn send(keys: &mut E2eKeys, from: &Identity, to: &Identity, seq: u32, plaintext: &[u8]) -> Vec<u8> {
    let mut body = plaintext.to_vec();
    body.extend_from_slice(&[0; E2E_TAG_LEN]);
    let mut frame = unsealed(Kind::GameData, from.node_id(), Destination::Node(to.node_id()), seq, &body);
    keys.encrypt_frame(&mut frame, TrailerLayout::Tag, to.public_key()).unwrap();
    seal_in_place(&mut frame, TrailerLayout::Tag, &network(), None).unwrap();
    frame
}

/// Opens and decrypts a frame at `me` from `from`; returns the plaintext.
fn receive(keys: &mut E2eKeys, from: &Identity, frame: &mut [u8]) -> Result<Vec<u8>, SecurityDrop> {
    let v = open(frame, &network(), &ring_of(&[from]))?;
    assert_eq!(v.origin, from.node_id());
    let range = keys.decrypt_frame(frame, from.public_key())?;
    Ok(frame[range].to_vec())
}

#[test]
fn unicast_game_data_round_trips_and_is_unreadable_in_transit() {
    let (a, b) = (node(20), node(21));
    let (mut ka, mut kb) = (E2eKeys::new(&a, 4), E2eKeys::new(&b, 4));
    let msg = b"player 2 moved to (10, 42)";
    let mut frame = send(&mut ka, &a, &b, 7, msg);
    assert!(!frame.windows(msg.len()).any(|w| w == msg), "plaintext visible on the wire");
    set_ttl_and_hops(&mut frame, 12, 4); // relays do not break it
    assert_eq!(receive(&mut kb, &a, &mut frame).unwrap(), msg);

    // The reverse direction uses its own key: same seq, same text, different bytes.
    let back = send(&mut kb, &b, &a, 7, msg);
    let mut again = send(&mut E2eKeys::new(&a, 4), &a, &b, 7, msg);
    assert_ne!(back[FRAME_HEADER_LEN..], again[FRAME_HEADER_LEN..]);
    let mut back = back;
    assert_eq!(receive(&mut ka, &b, &mut back).unwrap(), msg);
    // Deterministic: a fresh cache produces the same ciphertext for the same (origin, seq).
    assert_eq!(receive(&mut kb, &a, &mut again).unwrap(), msg);
}

#[test]
fn third_parties_and_tampering_fail_to_decrypt() {
    let (a, b, c) = (node(22), node(23), node(24));
    let (mut ka, mut kc) = (E2eKeys::new(&a, 4), E2eKeys::new(&c, 4));
    let frame = send(&mut ka, &a, &b, 1, b"secret");
    // C is not the destination.
    let mut f = frame.clone();
    assert_eq!(receive(&mut kc, &a, &mut f), Err(SecurityDrop::DecryptFailed));

    // An insider flips a ciphertext bit and fixes the network tag: the AEAD catches it.
    let mut kb = E2eKeys::new(&b, 4);
    let mut f = frame.clone();
    f[FRAME_HEADER_LEN] ^= 1;
    let end = f.len() - 16;
    let tag = network().tag(&[&canonical_header(&f), &f[FRAME_HEADER_LEN..end]]);
    f[end..].copy_from_slice(&tag);
    let received = f.clone();
    assert_eq!(receive(&mut kb, &a, &mut f), Err(SecurityDrop::DecryptFailed));
    assert_eq!(f, received, "body left as received on failure");

    // Decrypting with the wrong claimed sender.
    let mut f = frame.clone();
    assert_eq!(kb.decrypt_frame(&mut f, c.public_key()), Err(SecurityDrop::DecryptFailed));
    // A body too short to hold the AEAD tag.
    let mut short = unsealed(Kind::GameData, a.node_id(), Destination::Node(b.node_id()), 2, &[0; 5]);
    assert_eq!(kb.decrypt_frame(&mut short, a.public_key()), Err(SecurityDrop::DecryptFailed));
    let mut f = frame;
    assert_eq!(kb.decrypt_frame(&mut f, a.public_key()).map(|r| f[r].to_vec()), Ok(b"secret".to_vec()));
}

#[test]
fn keys_rotate_with_the_sequence_number_and_stay_in_sync() {
    let (a, b) = (node(25), node(26));
    let (mut ka, mut kb) = (E2eKeys::new(&a, 4), E2eKeys::new(&b, 4));
    // Across epochs 0 → 1 → 2 and back to an old epoch (a late frame): all decrypt.
    let seqs = [0xFFFE, 0xFFFF, 0x1_0000, 0x2_0005];
    let mut frames: Vec<_> = seqs.iter().map(|&s| send(&mut ka, &a, &b, s, b"tick")).collect();
    for f in frames.iter_mut().rev() {
        assert_eq!(receive(&mut kb, &a, f).unwrap(), b"tick");
    }
}

#[test]
fn sender_refuses_to_reuse_a_sequence_number() {
    let (a, b) = (node(27), node(28));
    let mut ka = E2eKeys::new(&a, 4);
    send(&mut ka, &a, &b, 10, b"one");
    let mut body = b"two".to_vec();
    body.extend_from_slice(&[0; E2E_TAG_LEN]);
    for seq in [10, 9] {
        let mut f = unsealed(Kind::GameData, a.node_id(), Destination::Node(b.node_id()), seq, &body);
        assert_eq!(ka.encrypt_frame(&mut f, TrailerLayout::Tag, b.public_key()), Err(SealError::SequenceReused));
    }
    // A frame not from this node, or not to this peer, is refused.
    let mut f = unsealed(Kind::GameData, b.node_id(), Destination::Node(b.node_id()), 11, &body);
    assert_eq!(ka.encrypt_frame(&mut f, TrailerLayout::Tag, b.public_key()), Err(SealError::MalformedFrame));
    let mut f = unsealed(Kind::GameData, a.node_id(), Destination::Broadcast, 11, &body);
    assert_eq!(ka.encrypt_frame(&mut f, TrailerLayout::Tag, b.public_key()), Err(SealError::MalformedFrame));
}

#[test]
fn the_cache_is_bounded_and_evicts_the_least_recently_used() {
    let a = node(30);
    let peers: Vec<_> = (31..35).map(node).collect();
    let mut ka = E2eKeys::new(&a, 2);
    for (i, p) in peers.iter().enumerate() {
        send(&mut ka, &a, p, i as u32 + 1, b"x");
        assert!(ka.len() <= 2);
    }
    assert_eq!(ka.len(), 2);
    ka.forget(peers[3].node_id());
    assert_eq!(ka.len(), 1);
    assert!(!ka.is_empty());
    // An evicted peer is agreed on again transparently, and its receiver still decrypts.
    let mut kb = E2eKeys::new(&peers[0], 2);
    let mut f = send(&mut ka, &a, &peers[0], 100, b"again");
    assert_eq!(receive(&mut kb, &a, &mut f).unwrap(), b"again");
}

#[test]
fn debug_shows_no_secrets() {
    let a = Identity::from_seed(&[0xC3; 32]);
    let keys = E2eKeys::new(&a, 3);
    let shown = alloc::format!("{keys:?}");
    assert!(shown.contains("node_id") && shown.contains("capacity: 3"), "{shown}");
    assert!(!shown.contains("c3c3") && !shown.contains("195, 195"), "{shown}");
}
