//! Coordinator change: the new sequencer asks, fetches, begins after what members
//! delivered; old epochs cannot take new indices.

use alloc::vec;

use super::sequence_tests::{E, SEQ, drain, entry, t};
use super::*;
use crate::NodeId;

const E2: Epoch = Epoch { term: 2, sequencer: NodeId(3) };

fn event(index: u64, submit: u32) -> Entry {
    entry(index, EntryBody::Event { submitter: NodeId(2), submit: SubmitId(submit), payload: vec![index as u8] })
}

/// Node `me` following [`E`], joined by the roster of index 2 (players 2, 3 and itself),
/// that delivered entries 3..=upto (its game starts there: snapshots off, see
/// `snapshot_tests.rs`).
fn player(me: u64, upto: u64) -> Session {
    let mut s = Session::new(SessionConfig { max_snapshot: 0, ..SessionConfig::default() }, NodeId(me));
    s.on_coordinator(t(0), Some(E));
    s.join(t(0), b"p").unwrap();
    let mut players = vec![(NodeId(2), b"p".to_vec()), (NodeId(3), b"p".to_vec())];
    if me > 3 {
        players.push((NodeId(me), b"p".to_vec()));
    }
    s.on_message(t(1), SEQ, SessionMessage::Roster { epoch: E, index: 2, last: Some(E), players, placed: vec![] });
    for i in 3..=upto {
        s.on_message(t(2), SEQ, SessionMessage::Entry(event(i, i as u32)));
    }
    drain(&mut s);
    assert_eq!(s.delivered(), upto.max(2));
    s
}

#[test]
fn a_new_sequencer_fetches_what_a_member_delivered_and_begins_after_it() {
    let (mut p2, mut p3) = (player(2, 4), player(3, 2));
    p3.on_coordinator(t(100), Some(E2));
    let request = SessionMessage::StateRequest { epoch: E2 };
    assert_eq!(drain(&mut p3), vec![SessionAction::Broadcast(request.clone())]);
    p2.on_coordinator(t(100), Some(E2));
    p2.on_message(t(101), NodeId(3), request);
    let reply = SessionMessage::StateReply { epoch: E2, delivered: 4, players: 2, runs: vec![(E, 2)] };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: NodeId(3), message: reply.clone() }]);
    p3.on_message(t(102), NodeId(2), reply);
    let nack = SessionMessage::Nack { from: 3, to: 5 };
    assert_eq!(drain(&mut p3), vec![SessionAction::Send { to: NodeId(2), message: nack.clone() }], "every player answered: fetch");
    p2.on_message(t(103), NodeId(3), nack);
    let served = drain(&mut p2);
    assert_eq!(
        served,
        vec![
            SessionAction::Send { to: NodeId(3), message: SessionMessage::Entry(event(3, 3)) },
            SessionAction::Send { to: NodeId(3), message: SessionMessage::Entry(event(4, 4)) },
        ]
    );
    for a in served {
        let SessionAction::Send { message, .. } = a else { unreachable!() };
        p3.on_message(t(104), NodeId(2), message);
    }
    let begin = SessionMessage::Begin { epoch: E2, start: 5 };
    assert_eq!(
        drain(&mut p3),
        vec![
            SessionAction::Deliver(event(3, 3)),
            SessionAction::Deliver(event(4, 4)),
            SessionAction::Broadcast(begin.clone()),
        ],
        "the old epoch's entries keep their indices; the new epoch places after them"
    );
    assert!(p3.is_sequencer());
    p2.on_message(t(105), NodeId(3), begin);
    assert_eq!(drain(&mut p2), vec![]);
    // The new epoch's first entry.
    p3.on_message(t(110), NodeId(2), SessionMessage::Submit { submit: SubmitId(9), payload: b"go".to_vec() });
    let e5 = Entry { index: 5, epoch: E2, prev: Some(E), body: EntryBody::Event { submitter: NodeId(2), submit: SubmitId(9), payload: b"go".to_vec() } };
    assert_eq!(drain(&mut p3), vec![SessionAction::Broadcast(SessionMessage::Entry(e5.clone())), SessionAction::Deliver(e5)]);
    assert_eq!(p3.metrics().handovers, 1);
}

#[test]
fn a_delayed_entry_of_the_old_epoch_cannot_take_an_index_of_the_new_one() {
    let mut p2 = player(2, 4);
    p2.on_coordinator(t(100), Some(E2));
    p2.on_message(t(105), NodeId(3), SessionMessage::Begin { epoch: E2, start: 5 });
    // The old sequencer had placed 5, and no one delivered it before the change.
    p2.on_message(t(106), SEQ, SessionMessage::Entry(event(5, 5)));
    assert_eq!(drain(&mut p2), vec![]);
    assert_eq!((p2.metrics().wrong_epoch, p2.delivered()), (1, 4));
    let e5 = Entry { index: 5, epoch: E2, prev: Some(E), body: EntryBody::Left { player: NodeId(3), reason: LeaveReason::Lost } };
    p2.on_message(t(107), NodeId(3), SessionMessage::Entry(e5.clone()));
    assert_eq!(drain(&mut p2), vec![SessionAction::Deliver(e5)]);
    // Below the start, an older epoch's entry still repairs a gap.
    let mut p4 = player(4, 2);
    p4.on_coordinator(t(100), Some(E2));
    p4.on_message(t(105), NodeId(3), SessionMessage::Begin { epoch: E2, start: 5 });
    p4.on_message(t(106), NodeId(3), SessionMessage::Entry(event(3, 3)));
    assert_eq!(drain(&mut p4), vec![SessionAction::Deliver(event(3, 3))]);
}

#[test]
fn a_member_that_delivered_past_the_begin_counts_a_divergence() {
    let mut p2 = player(2, 6);
    p2.on_coordinator(t(100), Some(E2));
    p2.on_message(t(105), NodeId(3), SessionMessage::Begin { epoch: E2, start: 5 });
    assert_eq!(p2.metrics().diverged, 1);
}

#[test]
fn state_requests_are_answered_early_but_not_for_old_or_spoofed_epochs() {
    let mut p2 = player(2, 3);
    p2.on_message(t(100), NodeId(3), SessionMessage::StateRequest { epoch: E2 });
    let reply = SessionMessage::StateReply { epoch: E2, delivered: 3, players: 2, runs: vec![(E, 2)] };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: NodeId(3), message: reply }], "before the election names it here");
    p2.on_message(t(101), NodeId(4), SessionMessage::StateRequest { epoch: E2 });
    assert_eq!(drain(&mut p2), vec![], "node 4 is not E2's sequencer");
    p2.on_coordinator(t(102), Some(E2));
    drain(&mut p2);
    p2.on_message(t(103), SEQ, SessionMessage::StateRequest { epoch: E });
    assert_eq!(drain(&mut p2), vec![], "an older epoch");
}

#[test]
fn a_silent_member_delays_the_begin_by_the_recovery_timeout_only() {
    let mut p3 = player(3, 2);
    p3.on_coordinator(t(100), Some(E2));
    drain(&mut p3);
    let timeout = SessionConfig::default().recovery_timeout;
    assert_eq!(p3.next_deadline(), Some(t(100) + timeout));
    p3.on_timeout(t(100) + timeout);
    assert_eq!(drain(&mut p3), vec![SessionAction::Broadcast(SessionMessage::Begin { epoch: E2, start: 3 })]);
}

#[test]
fn a_new_sequencer_without_a_history_takes_the_winners_roster_and_begins_after_it() {
    // Node 9 sequences, holds nothing of the session; player 2 delivered up to 4.
    let e9 = Epoch { term: 2, sequencer: NodeId(9) };
    let mut s9 = Session::new(SessionConfig::default(), NodeId(9));
    s9.on_coordinator(t(100), Some(e9));
    drain(&mut s9);
    let reply = SessionMessage::StateReply { epoch: e9, delivered: 4, players: 2, runs: vec![(E, 2)] };
    s9.on_message(t(101), NodeId(2), reply);
    s9.on_timeout(t(100) + SessionConfig::default().recovery_timeout);
    let ask = SessionMessage::RosterRequest { epoch: e9 };
    assert_eq!(drain(&mut s9), vec![SessionAction::Send { to: NodeId(2), message: ask.clone() }]);
    let mut p2 = player(2, 4);
    p2.on_coordinator(t(100), Some(e9));
    drain(&mut p2);
    p2.on_message(t(102), NodeId(9), ask);
    let players = vec![(NodeId(2), b"p".to_vec()), (NodeId(3), b"p".to_vec())];
    let placed = vec![(NodeId(2), SubmitId(4))];
    let roster = SessionMessage::Roster { epoch: e9, index: 4, last: Some(E), players, placed };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: NodeId(9), message: roster.clone() }]);
    s9.on_message(t(103), NodeId(2), roster);
    assert_eq!(drain(&mut s9), vec![SessionAction::Broadcast(SessionMessage::Begin { epoch: e9, start: 5 })]);
    assert!(s9.is_sequencer());
    assert_eq!(s9.players().count(), 2, "it refuses no player of the adopted history");
    // Its first entry follows the adopted history's last.
    s9.on_message(t(104), NodeId(3), SessionMessage::Submit { submit: SubmitId(1), payload: b"x".to_vec() });
    let SessionAction::Broadcast(SessionMessage::Entry(e5)) = &drain(&mut s9)[0] else { panic!("placed") };
    assert_eq!((e5.index, e5.prev), (5, Some(E)));
}

#[test]
fn a_silent_source_is_replaced_and_without_one_the_new_sequencer_begins_after_what_it_holds() {
    let (mut p2, mut p3) = (player(2, 4), player(3, 2));
    let p4 = player(4, 4);
    p3.on_coordinator(t(100), Some(E2));
    drain(&mut p3);
    for (from, p) in [(NodeId(4), &p4), (NodeId(2), &p2)] {
        p3.on_message(t(101), from, p.state_reply(E2));
    }
    let nack = SessionMessage::Nack { from: 3, to: 5 };
    assert_eq!(drain(&mut p3), vec![SessionAction::Send { to: NodeId(4), message: nack.clone() }], "fetch from the first that delivered most");
    // Node 4 says nothing: the same history is fetched from node 2.
    p3.on_timeout(t(101) + SessionConfig::default().recovery_timeout);
    assert_eq!(drain(&mut p3), vec![SessionAction::Send { to: NodeId(2), message: nack.clone() }]);
    p2.on_message(t(400), NodeId(3), nack);
    for a in drain(&mut p2) {
        let SessionAction::Send { message, .. } = a else { unreachable!() };
        p3.on_message(t(401), NodeId(2), message);
    }
    let actions = drain(&mut p3);
    assert_eq!(actions.last(), Some(&SessionAction::Broadcast(SessionMessage::Begin { epoch: E2, start: 5 })));
    assert_eq!(p3.metrics().handovers_incomplete, 0);

    // Nobody answers at all: it begins after its own last entry, never past entries it lacks.
    let mut p3 = player(3, 2);
    p3.on_coordinator(t(100), Some(E2));
    drain(&mut p3);
    p3.on_message(t(101), NodeId(2), player(2, 4).state_reply(E2));
    assert_eq!(drain(&mut p3).len(), 1, "the fetch");
    p3.on_timeout(t(101) + SessionConfig::default().recovery_timeout);
    assert_eq!(drain(&mut p3), vec![SessionAction::Broadcast(SessionMessage::Begin { epoch: E2, start: 3 })]);
    assert_eq!(p3.metrics().handovers_incomplete, 1);
    // Node 2, which delivered 3 and 4 under the old epoch, finds its history forked there.
    let mut p2 = player(2, 4);
    p2.on_coordinator(t(100), Some(E2));
    p2.on_message(t(402), NodeId(3), SessionMessage::Begin { epoch: E2, start: 3 });
    assert_eq!(p2.metrics().diverged, 1);
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: NodeId(3), message: p2.state_reply(E2) }], "it reports the fork");
}
