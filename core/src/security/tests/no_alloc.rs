//! The steady-state frame path allocates nothing: a counting allocator checks it.

use super::{ANNOUNCEMENT_BODY, network, node, ring_of, unsealed};
use crate::security::e2e::E2E_TAG_LEN;
use crate::security::{E2eKeys, ReplayGuard, TrailerLayout, open, seal, seal_in_place};
use crate::wire::Kind;
use crate::{Destination, Instant};

/// Allocations made by this thread while `f` ran.
fn allocations_during(f: impl FnOnce()) -> u64 {
    crate::alloc_count::allocations_during(f).0
}

#[test]
fn sealing_opening_replay_and_e2e_do_not_allocate_in_the_steady_state() {
    let (a, b) = (node(50), node(51));
    let (net, ring) = (network(), ring_of(&[&a, &b]));
    let mut guard = ReplayGuard::new(8, 64);
    let (mut ka, mut kb) = (E2eKeys::new(&a, 4), E2eKeys::new(&b, 4));

    // Signed control frame: seal into a stack buffer, open, replay check.
    let mut frame = unsealed(Kind::Announcement, a.node_id(), Destination::Broadcast, 1, &ANNOUNCEMENT_BODY);
    frame.reserve(112);
    guard.check_and_accept(a.node_id(), 0, Instant::ZERO).unwrap(); // the origin's window exists
    let mut trailer = [0u8; 112];
    frame[5] = 112;
    assert_eq!(
        allocations_during(|| {
            seal(&frame, TrailerLayout::SignedWithKey, &net, Some(&a), &mut trailer).unwrap();
        }),
        0
    );
    frame[5] = 0;
    assert_eq!(
        allocations_during(|| {
            seal_in_place(&mut frame, TrailerLayout::SignedWithKey, &net, Some(&a)).unwrap();
        }),
        0
    );
    assert_eq!(
        allocations_during(|| {
            let v = open(&frame, &net, &ring).unwrap();
            guard.check_and_accept(v.origin, v.seq, Instant::ZERO).unwrap();
        }),
        0
    );

    // Unicast game data once the peers are cached.
    let mut body = b"state update".to_vec();
    body.extend_from_slice(&[0; E2E_TAG_LEN]);
    let mut data = unsealed(Kind::GameData, a.node_id(), Destination::Node(b.node_id()), 2, &body);
    data.reserve(16);
    let mut warm = data.clone();
    ka.encrypt_frame(&mut warm, TrailerLayout::Tag, b.public_key()).unwrap();
    kb.decrypt_frame(&mut warm, a.public_key()).unwrap();
    data[24..28].copy_from_slice(&3u32.to_be_bytes());
    assert_eq!(
        allocations_during(|| {
            ka.encrypt_frame(&mut data, TrailerLayout::Tag, b.public_key()).unwrap();
            seal_in_place(&mut data, TrailerLayout::Tag, &net, None).unwrap();
            let v = open(&data, &net, &ring).unwrap();
            guard.check_and_accept(v.origin, v.seq, Instant::ZERO).unwrap();
            kb.decrypt_frame(&mut data, a.public_key()).unwrap();
        }),
        0
    );
}
