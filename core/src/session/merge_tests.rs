//! Forks, rebases and losses: each test asserts the exact actions a session emits.

use alloc::vec;

use super::sequence_tests::{E, SEQ, drain, entry, member, sequencer, t};
use super::*;
use crate::NodeId;

/// The epoch of another partition's coordinator, which forked from [`E`] after index 1.
const F: Epoch = Epoch { term: 2, sequencer: NodeId(7) };

fn event(index: u64, submitter: u64, submit: u32) -> Entry {
    entry(index, EntryBody::Event { submitter: NodeId(submitter), submit: SubmitId(submit), payload: vec![index as u8] })
}

/// Player 2, joined at 1, that delivered its own submit 1 at 2 and player 9's at 3, all of
/// epoch [`E`].
fn played_on() -> Session {
    let mut p2 = member(2);
    p2.submit(t(2), b"x").unwrap();
    drain(&mut p2);
    let own = entry(2, EntryBody::Event { submitter: NodeId(2), submit: SubmitId(1), payload: b"x".to_vec() });
    p2.on_message(t(3), SEQ, SessionMessage::Entry(own));
    p2.on_message(t(3), SEQ, SessionMessage::Entry(event(3, 9, 1)));
    drain(&mut p2);
    assert_eq!(p2.delivered(), 3);
    p2
}

#[test]
fn a_member_whose_history_forked_reports_it_rebases_and_submits_its_undone_events_again() {
    let mut p2 = played_on();
    p2.on_coordinator(t(10), Some(F));
    drain(&mut p2);
    // F places from 2: p2 holds 2 and 3 under E, so its history forked; it says so.
    p2.on_message(t(11), NodeId(7), SessionMessage::Begin { epoch: F, start: 2 });
    let report = SessionMessage::StateReply { epoch: F, delivered: 3, players: 1, runs: vec![(E, 1)] };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: NodeId(7), message: report }]);
    // The sequencer: both hold entry 1 alike; its stream reaches 2.
    p2.on_message(t(12), NodeId(7), SessionMessage::Rebase { epoch: F, fork: Some(1), last: 2 });
    assert_eq!(drain(&mut p2), vec![SessionAction::Event(SessionEvent::Rebased { fork: 1, undone: 2, resubmitted: 1 })]);
    assert_eq!((p2.delivered(), p2.metrics().rebases, p2.metrics().undone), (1, 1, 2));
    // Its own undone event is submitted again at once; the gap to 2 is asked for.
    p2.on_timeout(t(12));
    let again = SessionMessage::Submit { submit: SubmitId(1), payload: b"x".to_vec() };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: NodeId(7), message: again }]);
    p2.on_timeout(t(12) + SessionConfig::default().repair_delay);
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: NodeId(7), message: SessionMessage::Nack { from: 2, to: 3 } }]);
    // F's entry 2 follows entry 1 of E, and so p2's history now.
    let theirs = Entry { index: 2, epoch: F, prev: Some(E), body: event(2, 5, 1).body };
    p2.on_message(t(13), NodeId(7), SessionMessage::Entry(theirs.clone()));
    assert_eq!(drain(&mut p2), vec![SessionAction::Deliver(theirs)]);
}

#[test]
fn an_entry_that_does_not_follow_the_history_is_dropped_and_reported() {
    let mut p2 = played_on();
    p2.on_coordinator(t(10), Some(F));
    drain(&mut p2);
    let stranger = Entry { index: 4, epoch: F, prev: Some(F), body: event(4, 5, 1).body };
    p2.on_message(t(11), NodeId(5), SessionMessage::Entry(stranger));
    let report = SessionMessage::StateReply { epoch: F, delivered: 3, players: 1, runs: vec![(E, 1)] };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: NodeId(7), message: report }]);
    assert_eq!((p2.delivered(), p2.metrics().forked_entries), (3, 1));
    // Reports are at most every `repair_retry`.
    let again = Entry { index: 4, epoch: F, prev: Some(F), body: event(4, 5, 1).body };
    p2.on_message(t(12), NodeId(5), SessionMessage::Entry(again));
    assert_eq!(drain(&mut p2), vec![]);
}

#[test]
fn a_tip_that_names_another_epoch_for_an_entry_held_reveals_a_fork() {
    let mut p2 = played_on();
    p2.on_message(t(10), SEQ, SessionMessage::Tip { epoch: E, last: 3, tail: Some(E) });
    assert_eq!(drain(&mut p2), vec![], "the same history");
    p2.on_coordinator(t(11), Some(F));
    drain(&mut p2);
    p2.on_message(t(12), NodeId(7), SessionMessage::Tip { epoch: F, last: 3, tail: Some(F) });
    let report = SessionMessage::StateReply { epoch: F, delivered: 3, players: 1, runs: vec![(E, 1)] };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: NodeId(7), message: report }]);
}

#[test]
fn a_sequencer_answers_a_forked_history_with_the_fork_and_a_prefix_with_nothing() {
    let mut seq = sequencer();
    seq.on_message(t(1), NodeId(2), SessionMessage::Join { info: b"p".to_vec() });
    seq.on_message(t(2), NodeId(3), SessionMessage::Join { info: b"q".to_vec() });
    seq.on_message(t(3), NodeId(2), SessionMessage::Submit { submit: SubmitId(1), payload: b"x".to_vec() });
    drain(&mut seq);
    // Node 3 holds 1 and 2 of E, then 3 and 4 of F.
    let forked = SessionMessage::StateReply { epoch: E, delivered: 4, players: 2, runs: vec![(E, 1), (F, 3)] };
    seq.on_message(t(4), NodeId(3), forked);
    let rebase = SessionMessage::Rebase { epoch: E, fork: Some(2), last: 3 };
    assert_eq!(drain(&mut seq), vec![SessionAction::Send { to: NodeId(3), message: rebase }]);
    // Node 2's history is a prefix of this one: a late hand-over reply, not a fork.
    seq.on_message(t(5), NodeId(2), SessionMessage::StateReply { epoch: E, delivered: 2, players: 2, runs: vec![(E, 1)] });
    assert_eq!(drain(&mut seq), vec![]);
    // Nothing in common, and this log starts at index 1: rebase from the very start.
    seq.on_message(t(6), NodeId(3), SessionMessage::StateReply { epoch: E, delivered: 2, players: 1, runs: vec![(F, 1)] });
    let from_start = SessionMessage::Rebase { epoch: E, fork: Some(0), last: 3 };
    assert_eq!(drain(&mut seq), vec![SessionAction::Send { to: NodeId(3), message: from_start }]);
}

#[test]
fn a_new_sequencer_adopts_the_larger_sides_history_and_rebases_the_other_side() {
    // Node 3 sequences the merged partition; its own history (F after 1) has one player,
    // node 2's (E to 3) has two: node 2's is adopted, node 3 undoes its own entry.
    let g = Epoch { term: 3, sequencer: NodeId(3) };
    let mut s3 = member(3);
    let own = Entry { index: 2, epoch: F, prev: Some(E), body: EntryBody::Left { player: NodeId(9), reason: LeaveReason::Lost } };
    s3.on_coordinator(t(5), Some(F));
    s3.on_message(t(6), NodeId(7), SessionMessage::Entry(own));
    drain(&mut s3);
    assert_eq!(s3.delivered(), 2);
    s3.on_coordinator(t(10), Some(g));
    drain(&mut s3);
    let reply = SessionMessage::StateReply { epoch: g, delivered: 3, players: 2, runs: vec![(E, 1)] };
    s3.on_message(t(11), NodeId(2), reply);
    s3.on_timeout(t(10) + SessionConfig::default().recovery_timeout);
    assert_eq!(
        drain(&mut s3),
        vec![
            SessionAction::Event(SessionEvent::Rebased { fork: 1, undone: 1, resubmitted: 0 }),
            SessionAction::Send { to: NodeId(2), message: SessionMessage::Nack { from: 2, to: 4 } },
        ]
    );
    assert!(!s3.is_sequencer(), "it fetches before it places");
}

#[test]
fn the_sequencer_places_a_player_its_partition_lost_for_the_grace() {
    let mut seq = sequencer();
    seq.on_message(t(1), NodeId(2), SessionMessage::Join { info: b"p".to_vec() });
    seq.on_message(t(1), NodeId(3), SessionMessage::Join { info: b"q".to_vec() });
    drain(&mut seq);
    let held = |p: NodeId| p != NodeId(3);
    seq.on_partition(t(100), held);
    assert_eq!(drain(&mut seq), vec![]);
    let grace = SessionConfig::default().lost_grace;
    assert_eq!(seq.next_deadline(), Some(t(100) + grace).min(seq.next_deadline()));
    seq.on_partition(t(100) + grace, held);
    let lost = entry(3, EntryBody::Left { player: NodeId(3), reason: LeaveReason::Lost });
    assert_eq!(drain(&mut seq), vec![SessionAction::Broadcast(SessionMessage::Entry(lost))]);
    assert_eq!(seq.metrics().players_lost, 1);
    // Held again before the grace: forgotten.
    seq.on_partition(t(200), |p| p != NodeId(2));
    seq.on_partition(t(300), |_| true);
    seq.on_partition(t(300) + grace, |_| true);
    assert_eq!(drain(&mut seq), vec![]);
}

#[test]
fn a_player_placed_as_lost_is_told_and_joins_again() {
    let mut p2 = member(2);
    let lost = entry(2, EntryBody::Left { player: NodeId(2), reason: LeaveReason::Lost });
    p2.on_message(t(5), SEQ, SessionMessage::Entry(lost.clone()));
    assert_eq!(drain(&mut p2), vec![SessionAction::Deliver(lost), SessionAction::Event(SessionEvent::Lost { index: 2 })]);
    assert!(!p2.is_member());
    p2.on_timeout(t(5));
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: SEQ, message: SessionMessage::Join { info: b"p".to_vec() } }]);
}
