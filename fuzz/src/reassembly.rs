//! Fragment reassembly under interleavings, duplicates and timeouts.
//!
//! Up to four messages (each a distinct frame on a chosen link and message id) are cut into
//! PDUs at a chosen MTU; the operations push their fragments in any order, repeat them, let
//! time pass and take links down. A model of what was pushed checks the reassembler:
//!
//! * a completed buffer is exactly the original frame of that (link, message id);
//! * while nothing was evicted or timed out, a message completes exactly when its last
//!   missing fragment arrives, and a repeated fragment is reported as a duplicate;
//! * never more messages in progress than slots, nor more bytes held than slots × maximum.

use core::time::Duration;
use std::collections::BTreeSet;

use bolero::TypeGenerator;
use blemesh_core::wire::link::Fragmenter;
use blemesh_core::wire::reassembly::{Reassembler, Reassembly};
use blemesh_core::wire::{LinkPdu, MIN_MTU};
use blemesh_core::{DropReason, Instant, LinkId};

/// One message under test: (link, msg_id, frame, its PDUs).
type Message = (LinkId, u16, Vec<u8>, Vec<Vec<u8>>);

const SLOTS: usize = 3;
const MAX_MESSAGE: usize = 2048;
const TIMEOUT: Duration = Duration::from_millis(500);

/// One message to send.
#[derive(Debug, TypeGenerator)]
pub struct Msg {
    len: u16,
    link: u8,
    msg_id: u8,
    fill: u8,
}

/// What happens next.
#[derive(Debug, TypeGenerator)]
pub enum Op {
    /// Push fragment `index` (modulo count) of message `msg`.
    Push { msg: u8, index: u8 },
    /// Push every remaining fragment of `msg` in order.
    Rest { msg: u8 },
    /// Let time pass, then expire.
    Advance { millis: u16 },
    /// A link went down.
    Forget { link: u8 },
}

/// The target's input.
#[derive(Debug, TypeGenerator)]
pub struct Input {
    mtu: u8,
    msgs: [Msg; 4],
    ops: Vec<Op>,
}

/// Runs one input.
pub fn check(input: &Input) {
    let mtu = MIN_MTU + usize::from(input.mtu);
    let mut r = Reassembler::new(SLOTS, MAX_MESSAGE, TIMEOUT);
    let base_bytes = r.bytes_held();
    // Messages sharing (link, msg_id) are folded into the first.
    let mut msgs: Vec<Message> = Vec::new();
    for (k, m) in input.msgs.iter().enumerate() {
        let link = LinkId(u32::from(m.link % 3));
        let msg_id = u16::from(m.msg_id % 4);
        if msgs.iter().any(|(l, i, _, _)| *l == link && *i == msg_id) {
            continue;
        }
        let len = 2 + usize::from(m.len) % (MAX_MESSAGE - 1);
        let frame: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(m.fill) ^ k as u8).collect();
        let Some(plan) = Fragmenter::new(&frame, mtu) else { continue };
        if plan.count() < 2 {
            continue;
        }
        let pdus = (0..plan.count())
            .map(|i| {
                let mut out = Vec::new();
                plan.write_pdu(&frame, msg_id, i, &mut out);
                assert!(out.len() <= mtu, "pdu {} > mtu {mtu}", out.len());
                out
            })
            .collect();
        msgs.push((link, msg_id, frame, pdus));
    }
    if msgs.is_empty() {
        return;
    }
    let mut now = Instant::ZERO;
    // Fragments pushed per message since its last completion; whether the model is exact.
    let mut got: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); msgs.len()];
    let mut exact = true;
    let push = |r: &mut Reassembler, got: &mut Vec<BTreeSet<usize>>, exact: &mut bool, now: Instant, m: usize, i: usize| {
        let (link, _, frame, pdus) = &msgs[m];
        let LinkPdu::Fragment(f) = LinkPdu::new_checked(&pdus[i], MAX_MESSAGE).expect("own pdu is valid") else {
            panic!("a planned fragment decodes as a fragment")
        };
        let res = r.push(now, *link, f);
        let fresh = got[m].insert(i);
        let all = got[m].len() == pdus.len();
        match res {
            Ok(Reassembly::Complete(buf)) => {
                assert_eq!(&buf, frame, "completed frame differs from the original");
                assert!(all, "completed without every fragment pushed");
                got[m].clear();
                r.recycle(buf);
            }
            Ok(Reassembly::Pending) => assert!(!(*exact && all), "all fragments pushed but not complete"),
            Ok(Reassembly::PendingEvicted) => *exact = false,
            Err(DropReason::Duplicate) => assert!(!(*exact && fresh), "a new fragment called a duplicate"),
            Err(e) => panic!("unexpected refusal {e:?} of a consistent fragment"),
        }
    };
    for op in &input.ops {
        match op {
            Op::Push { msg, index } => {
                let m = usize::from(*msg) % msgs.len();
                let i = usize::from(*index) % msgs[m].3.len();
                push(&mut r, &mut got, &mut exact, now, m, i);
            }
            Op::Rest { msg } => {
                let m = usize::from(*msg) % msgs.len();
                for i in 0..msgs[m].3.len() {
                    if !got[m].contains(&i) {
                        push(&mut r, &mut got, &mut exact, now, m, i);
                    }
                }
            }
            Op::Advance { millis } => {
                now += Duration::from_millis(u64::from(*millis % 1000));
                if r.expire(now) > 0 {
                    exact = false;
                }
                if let Some(d) = r.next_deadline() {
                    assert!(d > now, "an expired message is still pending");
                }
            }
            Op::Forget { link } => {
                let link = LinkId(u32::from(link % 3));
                r.forget_link(link);
                for (m, msg) in msgs.iter().enumerate() {
                    if msg.0 == link {
                        got[m].clear();
                    }
                }
            }
        }
        assert!(r.in_progress() <= SLOTS);
        assert!(r.bytes_held() <= (2 * SLOTS * MAX_MESSAGE).max(base_bytes), "{} bytes held", r.bytes_held());
    }
}
