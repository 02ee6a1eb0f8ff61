//! Gaps: held entries, negative acknowledgements, repair from the log, the tip.

use alloc::vec;

use super::sequence_tests::{E, SEQ, drain, entry, member, sequencer, sequencer_with, t};
use super::*;
use crate::NodeId;

fn event(index: u64, submit: u32) -> Entry {
    entry(index, EntryBody::Event { submitter: NodeId(9), submit: SubmitId(submit), payload: vec![index as u8] })
}

#[test]
fn a_gap_is_held_asked_for_and_filled_in_order() {
    let mut p2 = member(2);
    p2.on_message(t(10), SEQ, SessionMessage::Entry(event(3, 2)));
    p2.on_message(t(11), SEQ, SessionMessage::Entry(event(4, 3)));
    assert_eq!(drain(&mut p2), vec![], "nothing past the gap is delivered");
    let delay = SessionConfig::default().repair_delay;
    assert_eq!(p2.next_deadline(), Some(t(10) + delay));
    p2.on_timeout(t(10) + delay);
    let nack = SessionMessage::Nack { from: 2, to: 3 };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: SEQ, message: nack }]);
    p2.on_message(t(60), SEQ, SessionMessage::Entry(event(2, 1)));
    assert_eq!(
        drain(&mut p2),
        vec![
            SessionAction::Deliver(event(2, 1)),
            SessionAction::Deliver(event(3, 2)),
            SessionAction::Deliver(event(4, 3)),
        ]
    );
    assert_eq!((p2.delivered(), p2.next_deadline()), (4, None));
    p2.on_message(t(61), SEQ, SessionMessage::Entry(event(3, 2)));
    assert_eq!(p2.metrics().duplicate_entries, 1);
}

#[test]
fn an_unanswered_nack_is_sent_again() {
    let mut p2 = member(2);
    p2.on_message(t(10), SEQ, SessionMessage::Entry(event(3, 2)));
    let c = SessionConfig::default();
    p2.on_timeout(t(10) + c.repair_delay);
    drain(&mut p2);
    assert_eq!(p2.next_deadline(), Some(t(10) + c.repair_delay + c.repair_retry));
    p2.on_timeout(t(10) + c.repair_delay + c.repair_retry);
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: SEQ, message: SessionMessage::Nack { from: 2, to: 3 } }]);
    assert_eq!(p2.metrics().nacks_sent, 2);
}

#[test]
fn the_sequencer_repairs_from_its_log_and_counts_what_it_no_longer_holds() {
    let config = SessionConfig { log_entries: 2, ..SessionConfig::default() };
    let mut seq = sequencer_with(config);
    seq.on_message(t(0), NodeId(9), SessionMessage::Join { info: b"p".to_vec() });
    for k in 1..=3 {
        seq.on_message(t(k), NodeId(9), SessionMessage::Submit { submit: SubmitId(k as u32), payload: vec![k as u8 + 1] });
    }
    drain(&mut seq);
    assert_eq!((seq.log().first(), seq.log().last()), (Some(3), Some(4)));
    seq.on_message(t(10), NodeId(2), SessionMessage::Nack { from: 2, to: 5 });
    assert_eq!(
        drain(&mut seq),
        vec![
            SessionAction::Send { to: NodeId(2), message: SessionMessage::Entry(event(3, 2)) },
            SessionAction::Send { to: NodeId(2), message: SessionMessage::Entry(event(4, 3)) },
        ]
    );
    assert_eq!((seq.metrics().repaired, seq.metrics().repair_unavailable), (2, 1));
}

#[test]
fn a_lost_tail_is_revealed_by_the_tip() {
    let mut seq = sequencer();
    seq.on_message(t(0), NodeId(2), SessionMessage::Join { info: b"p".to_vec() });
    seq.on_message(t(5), NodeId(9), SessionMessage::Join { info: b"p".to_vec() });
    drain(&mut seq);
    let c = SessionConfig::default();
    assert_eq!(seq.next_deadline(), Some(t(5) + c.tip_delay));
    seq.on_timeout(t(5) + c.tip_delay);
    let tip = SessionMessage::Tip { epoch: E, last: 2, tail: Some(E) };
    assert_eq!(drain(&mut seq), vec![SessionAction::Broadcast(tip.clone())]);
    assert_eq!(seq.next_deadline(), Some(t(5) + c.tip_delay + c.tip_interval), "then every tip_interval");
    // Node 2 got its own join (index 1) but not index 2.
    let mut p2 = member(2);
    p2.on_message(t(110), SEQ, tip);
    assert_eq!(drain(&mut p2), vec![]);
    p2.on_timeout(t(110) + c.repair_delay);
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: SEQ, message: SessionMessage::Nack { from: 2, to: 3 } }]);
}

#[test]
fn a_joiner_that_asks_again_gets_the_roster_as_of_now() {
    let mut seq = sequencer();
    seq.on_message(t(0), NodeId(2), SessionMessage::Join { info: b"p".to_vec() });
    drain(&mut seq);
    seq.on_message(t(50), NodeId(9), SessionMessage::Join { info: b"q".to_vec() });
    drain(&mut seq);
    seq.on_message(t(300), NodeId(2), SessionMessage::Join { info: b"p".to_vec() });
    let players = vec![(NodeId(2), b"p".to_vec()), (NodeId(9), b"q".to_vec())];
    let roster = SessionMessage::Roster { epoch: E, index: 2, last: Some(E), players, placed: vec![] };
    assert_eq!(drain(&mut seq), vec![SessionAction::Send { to: NodeId(2), message: roster }], "as of the last entry, not placed again");
    assert_eq!(seq.log().last(), Some(2));
}
