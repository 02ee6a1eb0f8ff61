//! Sealing and opening frames: the happy paths, every rejection reason, relays, and the
//! worked example of `docs/SECURITY.md`.

use alloc::vec::Vec;

use super::{ANNOUNCEMENT_BODY, network, node, ring_of, sealed, unsealed};
use crate::security::trailer::{MAX_TRAILER_LEN, signed_message};
use crate::security::{
    KeyRing, NetworkKey, SealError, SecurityDrop, TrailerLayout, canonical_header, open, seal, seal_in_place,
};
use crate::wire::frame::set_ttl_and_hops;
use crate::wire::{FRAME_HEADER_LEN, Frame, Kind, Message};
use crate::{Destination, NodeId};

const TOPOLOGY_BODY: [u8; 8] = [0, 0, 0, 7, 0, 0, 0, 0];
/// A routing-control body: the example of a frame that must be signed (and carries no key).
const CONTROL_BODY: [u8; 16] = [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 10, 0, 0, 0, 255];

const ELECTION_BODY: [u8; 28] = {
    let mut b = [0u8; 28];
    b[0] = 3; // vote
    b[1] = 1; // granted
    b[7] = 9; // term
    b
};

#[test]
fn announcement_carries_the_key_and_teaches_the_ring() {
    let a = node(1);
    let frame = sealed(Kind::Announcement, &a, Destination::Broadcast, 1, &ANNOUNCEMENT_BODY);
    assert_eq!(frame.len(), FRAME_HEADER_LEN + 12 + MAX_TRAILER_LEN);
    let mut ring = KeyRing::new(4);
    let v = open(&frame, &network(), &ring).unwrap();
    assert_eq!(v.origin, a.node_id());
    assert_eq!((v.seq, v.kind, v.layout, v.signed), (1, Kind::Announcement, TrailerLayout::SignedWithKey, true));
    assert_eq!(v.carried_key.as_ref(), Some(a.public_key()));
    assert_eq!(&frame[v.body.clone()], &ANNOUNCEMENT_BODY);
    // The wire layer still accepts the frame, trailer and all.
    let f = Frame::new_checked(&frame, 2048).unwrap();
    assert_eq!(f.auth().len(), 112);
    assert!(Message::parse(&f).is_ok());

    // A topology update carries its key too: verifiable before any announcement arrived.
    let topo = sealed(Kind::TopologyUpdate, &a, Destination::Broadcast, 2, &TOPOLOGY_BODY);
    let t = open(&topo, &network(), &ring).unwrap();
    assert_eq!((t.layout, t.signed, t.carried_key.as_ref()), (TrailerLayout::SignedWithKey, true, Some(a.public_key())));

    // Routing control is signed without the key: it needs the key from the ring.
    let control = [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 10, 0, 0, 0, 255];
    let routing = sealed(Kind::RoutingUpdate, &a, Destination::Broadcast, 3, &control);
    assert_eq!(open(&routing, &network(), &ring).unwrap_err(), SecurityDrop::UnknownSigner);
    ring.learn(&v.carried_key.unwrap(), crate::Instant::ZERO);
    let v = open(&routing, &network(), &ring).unwrap();
    assert_eq!((v.layout, v.signed, v.carried_key), (TrailerLayout::Signed, true, None));
}

#[test]
fn every_kind_round_trips_and_only_control_is_signed() {
    let a = node(2);
    let ring = ring_of(&[&a]);
    for (kind, body, signed) in [
        (Kind::Announcement, &ANNOUNCEMENT_BODY[..], true),
        (Kind::Heartbeat, &[0u8; 20][..], false),
        (Kind::TopologyUpdate, &TOPOLOGY_BODY[..], true),
        (Kind::RoutingUpdate, &[1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 10, 0, 0, 0, 255][..], true),
        (Kind::GameData, &b"move e2e4"[..], false),
        (Kind::Ack, &[0u8; 8][..], false),
        (Kind::Election, &ELECTION_BODY[..], false),
    ] {
        let frame = sealed(kind, &a, Destination::Broadcast, 5, body);
        let v = open(&frame, &network(), &ring).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(v.signed, signed, "{kind:?}");
        assert_eq!(v.kind, kind);
    }
}

#[test]
fn relays_changing_ttl_and_hops_do_not_break_verification() {
    let a = node(3);
    let ring = ring_of(&[&a]);
    for kind in [Kind::Announcement, Kind::Election, Kind::GameData] {
        let body: &[u8] = match kind {
            Kind::Announcement => &ANNOUNCEMENT_BODY,
            Kind::Election => &ELECTION_BODY,
            _ => b"payload",
        };
        let mut frame = sealed(kind, &a, Destination::Broadcast, 9, body);
        for (ttl, hops) in [(15, 1), (1, 15), (0, 255), (255, 0)] {
            set_ttl_and_hops(&mut frame, ttl, hops);
            assert!(open(&frame, &network(), &ring).is_ok(), "{kind:?} after ttl {ttl} hops {hops}");
        }
    }
}

#[test]
fn outsiders_and_modified_frames_fail_the_tag_first() {
    let a = node(4);
    let ring = ring_of(&[&a]);
    let frame = sealed(Kind::RoutingUpdate, &a, Destination::Broadcast, 3, &CONTROL_BODY);
    // Another mesh's key.
    assert_eq!(open(&frame, &NetworkKey::new(&[0x43; 32]), &ring).unwrap_err(), SecurityDrop::BadTag);
    // Any modified byte outside ttl/hops (lengths excepted: they are checked before the tag).
    for i in (0..frame.len()).filter(|i| ![3, 4, 5, 6, 7].contains(i)) {
        let mut f = frame.clone();
        f[i] ^= 0x10;
        assert_eq!(open(&f, &network(), &ring).unwrap_err(), SecurityDrop::BadTag, "byte {i}");
    }
}

/// What an insider (who has the network key, not the victim's signing key) can build: a
/// frame with a valid tag over an arbitrary trailer.
fn retag(frame: &mut [u8], net: &NetworkKey) {
    let end = frame.len() - 16;
    let header = canonical_header(frame);
    let tag = net.tag(&[&header, &frame[FRAME_HEADER_LEN..end]]);
    frame[end..].copy_from_slice(&tag);
}

#[test]
fn insiders_cannot_forge_the_control_plane() {
    let (victim, attacker) = (node(5), node(6));
    let ring = ring_of(&[&victim, &attacker]);
    let net = network();

    // Modify a signed frame and recompute the tag: the signature no longer matches.
    let mut f = sealed(Kind::RoutingUpdate, &victim, Destination::Broadcast, 3, &CONTROL_BODY);
    f[FRAME_HEADER_LEN + 8] ^= 1; // the candidate
    retag(&mut f, &net);
    assert_eq!(open(&f, &net, &ring).unwrap_err(), SecurityDrop::BadSignature);

    // Claim the victim's id and sign with one's own key: bad signature under the victim's key.
    let mut f = unsealed(Kind::RoutingUpdate, victim.node_id(), Destination::Broadcast, 4, &CONTROL_BODY);
    f[5] = 80;
    let header = canonical_header(&f);
    let sig = attacker.sign(&signed_message(&header, &CONTROL_BODY, &[]));
    f.extend_from_slice(&sig);
    f.extend_from_slice(&[0; 16]);
    retag(&mut f, &net);
    assert_eq!(open(&f, &net, &ring).unwrap_err(), SecurityDrop::BadSignature);
    assert_eq!(open(&f, &net, &KeyRing::new(1)).unwrap_err(), SecurityDrop::UnknownSigner);

    // Announce the victim's id with one's own key: the key does not derive the id.
    let mut f = unsealed(Kind::Announcement, victim.node_id(), Destination::Broadcast, 5, &ANNOUNCEMENT_BODY);
    f[5] = 112;
    let header = canonical_header(&f);
    let pk = *attacker.public_key().as_bytes();
    let sig = attacker.sign(&signed_message(&header, &ANNOUNCEMENT_BODY, &pk));
    f.extend_from_slice(&pk);
    f.extend_from_slice(&sig);
    f.extend_from_slice(&[0; 16]);
    retag(&mut f, &net);
    assert_eq!(open(&f, &net, &ring).unwrap_err(), SecurityDrop::IdentityMismatch);

    // An invalid point as key.
    let at = FRAME_HEADER_LEN + ANNOUNCEMENT_BODY.len();
    f[at..at + 32].fill(0);
    f[at] = 2;
    retag(&mut f, &net);
    assert_eq!(open(&f, &net, &ring).unwrap_err(), SecurityDrop::InvalidPublicKey);

    // Strip the signature from a control frame, or the key from an announcement.
    let mut f = unsealed(Kind::TopologyUpdate, victim.node_id(), Destination::Broadcast, 6, &TOPOLOGY_BODY);
    seal_in_place(&mut f, TrailerLayout::Tag, &net, None).unwrap();
    assert_eq!(open(&f, &net, &ring).unwrap_err(), SecurityDrop::MissingSignature);
    let mut f = unsealed(Kind::Announcement, victim.node_id(), Destination::Broadcast, 7, &ANNOUNCEMENT_BODY);
    seal_in_place(&mut f, TrailerLayout::Signed, &net, Some(&victim)).unwrap();
    assert_eq!(open(&f, &net, &ring).unwrap_err(), SecurityDrop::MissingPublicKey);
}

#[test]
fn structural_defects_have_their_reasons() {
    let a = node(7);
    let ring = ring_of(&[&a]);
    let net = network();
    let frame = sealed(Kind::GameData, &a, Destination::Broadcast, 1, b"x");
    assert_eq!(open(&frame[..20], &net, &ring).unwrap_err(), SecurityDrop::MalformedFrame);
    assert_eq!(open(&frame[..frame.len() - 1], &net, &ring).unwrap_err(), SecurityDrop::MalformedFrame);
    let bare = unsealed(Kind::GameData, a.node_id(), Destination::Broadcast, 1, b"x");
    assert_eq!(open(&bare, &net, &ring).unwrap_err(), SecurityDrop::MissingTrailer);
    let mut odd = bare.clone();
    odd[5] = 17;
    odd.extend_from_slice(&[0; 17]);
    assert_eq!(open(&odd, &net, &ring).unwrap_err(), SecurityDrop::MalformedTrailer);
    // An unknown kind or reserved origin with a valid tag (an insider's or a newer version's).
    let mut f = frame.clone();
    f[1] = 99;
    retag(&mut f, &net);
    assert_eq!(open(&f, &net, &ring).unwrap_err(), SecurityDrop::MalformedFrame);
    let mut f = frame.clone();
    f[8..16].fill(0xFF);
    retag(&mut f, &net);
    assert_eq!(open(&f, &net, &ring).unwrap_err(), SecurityDrop::MalformedFrame);
}

#[test]
fn seal_refuses_caller_mistakes() {
    let (a, b) = (node(8), node(9));
    let net = network();
    let mut out = [0u8; MAX_TRAILER_LEN];
    let mut f = unsealed(Kind::RoutingUpdate, a.node_id(), Destination::Broadcast, 1, &CONTROL_BODY);
    // auth_len not set to the layout's length.
    assert_eq!(seal(&f, TrailerLayout::Signed, &net, Some(&a), &mut out), Err(SealError::MalformedFrame));
    f[5] = 80;
    assert_eq!(seal(&f, TrailerLayout::Signed, &net, None, &mut out), Err(SealError::WrongSigner));
    assert_eq!(seal(&f, TrailerLayout::Signed, &net, Some(&b), &mut out), Err(SealError::WrongSigner));
    assert_eq!(seal(&f, TrailerLayout::Signed, &net, Some(&a), &mut out[..79]), Err(SealError::BufferTooSmall));
    assert_eq!(seal(&f, TrailerLayout::Signed, &net, Some(&a), &mut out), Ok(80));
    assert_eq!(seal(&f[..10], TrailerLayout::Signed, &net, Some(&a), &mut out), Err(SealError::MalformedFrame));
    // seal_in_place leaves the frame as it was on failure.
    let mut g = unsealed(Kind::RoutingUpdate, a.node_id(), Destination::Broadcast, 1, &CONTROL_BODY);
    let before = g.clone();
    assert_eq!(seal_in_place(&mut g, TrailerLayout::Signed, &net, Some(&b)), Err(SealError::WrongSigner));
    assert_eq!(g, before);
    // seal and seal_in_place agree.
    seal_in_place(&mut g, TrailerLayout::Signed, &net, Some(&a)).unwrap();
    assert_eq!(&g[g.len() - 80..], &out[..80]);
}

#[test]
fn replayed_frames_are_dropped_after_authentication() {
    use crate::Instant;
    use crate::security::ReplayGuard;
    let a = node(10);
    let ring = ring_of(&[&a]);
    let mut guard = ReplayGuard::new(8, 64);
    let mut accept = |frame: &[u8]| {
        let v = open(frame, &network(), &ring)?;
        guard.check_and_accept(v.origin, v.seq, Instant::ZERO)
    };
    let f100 = sealed(Kind::RoutingUpdate, &a, Destination::Broadcast, 100, &CONTROL_BODY);
    let f99 = sealed(Kind::RoutingUpdate, &a, Destination::Broadcast, 99, &CONTROL_BODY);
    let f20 = sealed(Kind::RoutingUpdate, &a, Destination::Broadcast, 20, &CONTROL_BODY);
    assert_eq!(accept(&f100), Ok(()));
    assert_eq!(accept(&f100), Err(SecurityDrop::Replay));
    assert_eq!(accept(&f99), Ok(()));
    assert_eq!(accept(&f99), Err(SecurityDrop::Replay));
    assert_eq!(accept(&f20), Err(SecurityDrop::Stale));
    // A relayed copy (different ttl/hops) is the same frame: still a replay.
    let mut relayed = f100.clone();
    set_ttl_and_hops(&mut relayed, 3, 13);
    assert_eq!(accept(&relayed), Err(SecurityDrop::Replay));
    // A forged frame cannot push the window: it fails before the guard sees it.
    let mut forged = sealed(Kind::RoutingUpdate, &a, Destination::Broadcast, 5000, &CONTROL_BODY);
    forged[30] ^= 1;
    assert_eq!(accept(&forged), Err(SecurityDrop::BadTag));
    let f101 = sealed(Kind::RoutingUpdate, &a, Destination::Broadcast, 101, &CONTROL_BODY);
    assert_eq!(accept(&f101), Ok(()));
}

#[test]
fn drop_reasons_have_stable_unique_names() {
    let mut names: Vec<&str> = SecurityDrop::ALL.iter().map(|r| r.name()).collect();
    for (i, r) in SecurityDrop::ALL.iter().enumerate() {
        assert_eq!(r.index(), i);
        assert!(r.name().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        assert_eq!(alloc::format!("{r}"), r.name());
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), SecurityDrop::ALL.len());
    let mut counts = crate::security::SecurityDropCounts::default();
    counts.add(SecurityDrop::BadTag);
    counts.add(SecurityDrop::BadTag);
    counts.add(SecurityDrop::Replay);
    assert_eq!((counts.get(SecurityDrop::BadTag), counts.total()), (2, 3));
    assert_eq!(counts.iter().filter(|(_, c)| *c > 0).count(), 2);
    assert_eq!(SecurityDrop::BadTag.name(), "bad_tag");
    assert_eq!(SecurityDrop::Replay.name(), "replay");
}

/// The worked example in `docs/SECURITY.md`, byte for byte.
#[test]
fn documented_example_matches_byte_for_byte() {
    const DOC: &str = include_str!("../../../../docs/SECURITY.md");
    let start = DOC.find("<!-- example-frame:begin -->").expect("begin marker");
    let end = DOC.find("<!-- example-frame:end -->").expect("end marker");
    let hex_text: alloc::string::String = DOC[start..end]
        .lines()
        .filter(|l| !l.starts_with("<!--") && !l.starts_with("```"))
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let documented = super::hex(&hex_text);

    let id = crate::security::Identity::from_seed(&[0x11; 32]);
    let mut frame = sealed(Kind::Announcement, &id, Destination::Broadcast, 1, &ANNOUNCEMENT_BODY);
    assert_eq!(documented, frame, "regenerate the example: {}", dump(&frame));
    // The documented frame opens, and still does after two relays.
    set_ttl_and_hops(&mut frame, 14, 2);
    assert_eq!(open(&frame, &network(), &KeyRing::new(1)).unwrap().origin, id.node_id());
    assert_eq!(id.node_id(), NodeId(u64::from_be_bytes(frame[8..16].try_into().unwrap())));
}

fn dump(frame: &[u8]) -> alloc::string::String {
    frame.iter().map(|b| alloc::format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}
