//! Property tests of the decoders: arbitrary bytes never panic, and whatever decodes
//! re-encodes to the same bytes.

use alloc::vec::Vec;

use super::link::{Fragmenter, LinkPdu};
use super::reassembly::{Reassembler, Reassembly};
use super::{Frame, Message, encode_frame};
use crate::{Instant, LinkId};
use core::time::Duration;

#[test]
fn arbitrary_bytes_never_panic_and_valid_frames_round_trip() {
    bolero::check!().for_each(|bytes: &[u8]| {
        if let Ok(LinkPdu::Whole(frame)) | Ok(LinkPdu::Fragment(super::link::Fragment { chunk: frame, .. })) =
            LinkPdu::new_checked(bytes, 2048)
        {
            let _ = frame.len();
        }
        if let Ok(frame) = Frame::new_checked(bytes, 2048) {
            let _ = Message::parse(&frame);
            let mut out = Vec::new();
            let mut header = *frame.header();
            header.auth_len = 0;
            encode_frame(&mut out, &header, &[frame.body()]);
            let mut expected = bytes[..bytes.len() - frame.auth().len()].to_vec();
            expected[5] = 0; // auth_len
            assert_eq!(out, expected);
        }
    });
}

#[test]
fn fragments_reassemble_in_any_order_within_bounds() {
    bolero::check!().with_type::<(Vec<u8>, u16, Vec<u16>)>().for_each(|(frame, mtu, order)| {
        if frame.is_empty() || frame.len() > 2048 {
            return;
        }
        let mtu = usize::from(*mtu % 400) + 20;
        let plan = Fragmenter::new(frame, mtu).expect("2048 bytes fit 255 fragments of 9");
        let mut pdus: Vec<Vec<u8>> = (0..plan.count())
            .map(|i| {
                let mut b = Vec::new();
                plan.write_pdu(frame, 3, i, &mut b);
                assert!(b.len() <= mtu);
                b
            })
            .collect();
        if plan.count() == 1 {
            return;
        }
        // Permute by the generated keys, then add a duplicate of the first.
        let mut keyed: Vec<(u16, Vec<u8>)> =
            pdus.drain(..).enumerate().map(|(i, p)| (order.get(i).copied().unwrap_or(0), p)).collect();
        keyed.sort_by_key(|(k, _)| *k);
        let mut r = Reassembler::new(2, 2048, Duration::from_secs(1));
        let mut done = None;
        for (_, pdu) in &keyed {
            let Ok(LinkPdu::Fragment(f)) = LinkPdu::new_checked(pdu, 2048) else { panic!("valid fragment") };
            match r.push(Instant::ZERO, LinkId(1), f) {
                Ok(Reassembly::Complete(buf)) => done = Some(buf),
                Ok(_) => assert!(done.is_none(), "nothing after completion"),
                Err(e) => panic!("{e:?}"),
            }
            assert!(r.in_progress() <= 2);
        }
        assert_eq!(done.as_deref(), Some(&frame[..]));
    });
}
