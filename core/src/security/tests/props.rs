//! Property: a sealed frame survives any change of ttl and hops and no other single-bit change.

use alloc::vec::Vec;

use bolero::produce;

use super::{network, node, ring_of, sealed};
use crate::Destination;
use crate::security::{HOPS_OFFSET, TTL_OFFSET, open};
use crate::wire::Kind;

#[test]
fn any_single_bit_change_outside_ttl_and_hops_is_rejected() {
    let a = node(40);
    let ring = ring_of(&[&a]);
    let net = network();
    let kinds = [Kind::Announcement, Kind::Heartbeat, Kind::TopologyUpdate, Kind::GameData, Kind::Ack, Kind::Election];
    bolero::check!().with_generator(produce::<(u8, u32, Vec<u8>, u16, u8, u8)>()).with_iterations(300).for_each(
        |(kind, seq, body, bit, ttl, hops)| {
            // Bodies need not parse: the security layer does not read them.
            let body = &body[..body.len().min(300)];
            let kind = kinds[usize::from(*kind) % kinds.len()];
            let mut frame = sealed(kind, &a, Destination::Broadcast, *seq, body);
            assert!(open(&frame, &net, &ring).is_ok());

            let bit = usize::from(*bit) % (frame.len() * 8);
            let byte = bit / 8;
            frame[byte] ^= 1 << (bit % 8);
            let result = open(&frame, &net, &ring);
            if byte == TTL_OFFSET || byte == HOPS_OFFSET {
                assert!(result.is_ok(), "{kind:?}: flipping ttl/hops bit {bit} broke {result:?}");
            } else {
                assert!(result.is_err(), "{kind:?}: bit {bit} of {} flipped and still accepted", frame.len());
            }
            // Whatever ttl and hops relays write, the frame still opens (bit restored).
            frame[byte] ^= 1 << (bit % 8);
            frame[TTL_OFFSET] = *ttl;
            frame[HOPS_OFFSET] = *hops;
            assert!(open(&frame, &net, &ring).is_ok());
        },
    );
}
