//! Placing and delivering: joins, submits, refusals, timeouts, epochs; each test asserts
//! the exact actions a session emits.

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::{Instant, NodeId};

pub(super) const SEQ: NodeId = NodeId(1);
pub(super) const E: Epoch = Epoch { term: 1, sequencer: SEQ };

pub(super) fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

pub(super) fn drain(s: &mut Session) -> Vec<SessionAction> {
    core::iter::from_fn(|| s.poll_action()).collect()
}

/// A session of `me` following [`E`].
pub(super) fn following(me: u64) -> Session {
    let mut s = Session::new(SessionConfig::default(), NodeId(me));
    s.on_coordinator(t(0), Some(E));
    assert_eq!(drain(&mut s), vec![]);
    s
}

/// The sequencer of [`E`], its hand-over done: it knew no history, heard no member within
/// the recovery timeout, and begins at index 1.
pub(super) fn sequencer_with(config: SessionConfig) -> Session {
    let mut s = Session::new(config, SEQ);
    s.on_coordinator(t(0), Some(E));
    assert_eq!(drain(&mut s), vec![SessionAction::Broadcast(SessionMessage::StateRequest { epoch: E })]);
    assert!(!s.is_sequencer(), "nothing is placed before the hand-over");
    s.on_timeout(t(0) + config.recovery_timeout);
    assert_eq!(drain(&mut s), vec![SessionAction::Broadcast(SessionMessage::Begin { epoch: E, start: 1 })]);
    assert!(s.is_sequencer());
    s
}

pub(super) fn sequencer() -> Session {
    sequencer_with(SessionConfig::default())
}

pub(super) fn entry(index: u64, body: EntryBody) -> Entry {
    Entry { index, epoch: E, prev: (index > 1).then_some(E), body }
}

/// Node `me`, joined at index 1 (the only player).
pub(super) fn member(me: u64) -> Session {
    let mut s = following(me);
    s.join(t(0), b"p").unwrap();
    drain(&mut s);
    s.on_message(t(1), SEQ, SessionMessage::Roster { epoch: E, index: 1, last: Some(E), players: vec![(NodeId(me), b"p".to_vec())], placed: vec![] });
    assert_eq!(drain(&mut s), vec![SessionAction::Event(SessionEvent::Joined { index: 1 })]);
    s
}

#[test]
fn a_join_is_placed_and_starts_the_joiners_history() {
    let (mut seq, mut p2) = (sequencer(), following(2));
    p2.join(t(0), b"alice").unwrap();
    let join = SessionMessage::Join { info: b"alice".to_vec() };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: SEQ, message: join.clone() }]);
    seq.on_message(t(5), NodeId(2), join);
    let e1 = entry(1, EntryBody::Joined { player: NodeId(2), info: b"alice".to_vec() });
    let roster = SessionMessage::Roster { epoch: E, index: 0, last: None, players: vec![], placed: vec![] };
    assert_eq!(
        drain(&mut seq),
        vec![SessionAction::Broadcast(SessionMessage::Entry(e1.clone())), SessionAction::Send { to: NodeId(2), message: roster.clone() }],
        "not a player: nothing delivered"
    );
    // The entry may arrive before the roster: held, then the first of the joiner's history.
    p2.on_message(t(8), SEQ, SessionMessage::Entry(e1.clone()));
    assert_eq!(drain(&mut p2), vec![]);
    p2.on_message(t(9), SEQ, roster);
    assert_eq!(drain(&mut p2), vec![SessionAction::Deliver(e1), SessionAction::Event(SessionEvent::Joined { index: 1 })]);
    assert!(p2.is_member());
    assert_eq!((p2.delivered(), p2.next_deadline()), (1, None));
    assert_eq!(p2.players().collect::<Vec<_>>(), vec![(NodeId(2), &b"alice"[..])]);
    assert_eq!(seq.players().count(), 1, "the sequencer keeps the player list too");
}

#[test]
fn a_submit_is_placed_once_and_its_submitter_sees_it_in_the_stream() {
    let mut seq = sequencer();
    seq.on_message(t(0), NodeId(2), SessionMessage::Join { info: b"p".to_vec() });
    drain(&mut seq);
    let mut p2 = member(2);
    assert_eq!(p2.submit(t(10), b"roll 4"), Ok(SubmitId(1)));
    let submit = SessionMessage::Submit { submit: SubmitId(1), payload: b"roll 4".to_vec() };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: SEQ, message: submit.clone() }]);
    seq.on_message(t(12), NodeId(2), submit.clone());
    let e2 = entry(2, EntryBody::Event { submitter: NodeId(2), submit: SubmitId(1), payload: b"roll 4".to_vec() });
    assert_eq!(drain(&mut seq), vec![SessionAction::Broadcast(SessionMessage::Entry(e2.clone()))]);
    seq.on_message(t(13), NodeId(2), submit);
    assert_eq!(drain(&mut seq), vec![], "a retried submit is not placed twice");
    assert_eq!(seq.metrics().duplicate_submits, 1);
    p2.on_message(t(15), SEQ, SessionMessage::Entry(e2.clone()));
    assert_eq!(
        drain(&mut p2),
        vec![SessionAction::Deliver(e2), SessionAction::Event(SessionEvent::Sequenced { submit: SubmitId(1), index: 2 })]
    );
    assert_eq!(p2.next_deadline(), None, "nothing left to wait for");
}

#[test]
fn the_sequencer_plays_too() {
    let mut seq = sequencer();
    seq.join(t(0), b"host").unwrap();
    let e1 = entry(1, EntryBody::Joined { player: SEQ, info: b"host".to_vec() });
    assert_eq!(
        drain(&mut seq),
        vec![
            SessionAction::Broadcast(SessionMessage::Entry(e1.clone())),
            SessionAction::Deliver(e1),
            SessionAction::Event(SessionEvent::Joined { index: 1 }),
        ]
    );
    assert_eq!(seq.submit(t(1), b"deal"), Ok(SubmitId(1)));
    let e2 = entry(2, EntryBody::Event { submitter: SEQ, submit: SubmitId(1), payload: b"deal".to_vec() });
    assert_eq!(
        drain(&mut seq),
        vec![
            SessionAction::Broadcast(SessionMessage::Entry(e2.clone())),
            SessionAction::Deliver(e2),
            SessionAction::Event(SessionEvent::Sequenced { submit: SubmitId(1), index: 2 }),
        ]
    );
}

#[test]
fn a_non_members_submit_is_refused_and_the_submit_fails() {
    let mut seq = sequencer();
    seq.on_message(t(0), NodeId(3), SessionMessage::Submit { submit: SubmitId(1), payload: b"x".to_vec() });
    let refused = SessionMessage::Refused { submit: SubmitId(1), reason: RefuseReason::NotMember };
    assert_eq!(drain(&mut seq), vec![SessionAction::Send { to: NodeId(3), message: refused.clone() }]);
    // A member whose submit the sequencer refuses (its `Joined` entry not yet applied
    // there): the refusal may predate the join, so the submit is sent again until its
    // deadline, and then fails as refused.
    let c = SessionConfig::default();
    let mut p2 = member(2);
    p2.submit(t(2), b"x").unwrap();
    drain(&mut p2);
    p2.on_message(t(3), SEQ, refused);
    assert_eq!(drain(&mut p2), vec![]);
    p2.on_timeout(t(3) + c.submit_retry);
    let again = SessionMessage::Submit { submit: SubmitId(1), payload: b"x".to_vec() };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: SEQ, message: again }]);
    p2.on_timeout(t(2) + c.submit_timeout);
    let failed = SessionEvent::SubmitFailed { submit: SubmitId(1), reason: FailReason::Refused(RefuseReason::NotMember) };
    assert_eq!(drain(&mut p2), vec![SessionAction::Event(failed)]);
    assert_eq!(p2.metrics().submits_failed, 1);
}

#[test]
fn a_submit_no_one_places_is_sent_again_then_fails() {
    let mut p2 = member(2);
    p2.submit(t(10), b"x").unwrap();
    drain(&mut p2);
    let retry = SessionConfig::default().submit_retry;
    assert_eq!(p2.next_deadline(), Some(t(10) + retry));
    p2.on_timeout(t(10) + retry);
    let submit = SessionMessage::Submit { submit: SubmitId(1), payload: b"x".to_vec() };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: SEQ, message: submit }]);
    p2.on_timeout(t(10) + SessionConfig::default().submit_timeout);
    let failed = SessionEvent::SubmitFailed { submit: SubmitId(1), reason: FailReason::Timeout };
    assert_eq!(drain(&mut p2).last(), Some(&SessionAction::Event(failed)));
    assert_eq!(p2.next_deadline(), None);
}

#[test]
fn waiting_submits_go_to_a_new_sequencer_at_once_and_fail_when_leaving() {
    let mut p2 = member(2);
    p2.on_coordinator(t(5), None);
    p2.submit(t(10), b"x").unwrap();
    assert_eq!(drain(&mut p2), vec![], "no sequencer to send to");
    let e2 = Epoch { term: 2, sequencer: NodeId(4) };
    p2.on_coordinator(t(20), Some(e2));
    let submit = SessionMessage::Submit { submit: SubmitId(1), payload: b"x".to_vec() };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: NodeId(4), message: submit }]);
    p2.leave(t(30));
    let failed = SessionEvent::SubmitFailed { submit: SubmitId(1), reason: FailReason::Left };
    assert_eq!(
        drain(&mut p2),
        vec![SessionAction::Event(failed), SessionAction::Send { to: NodeId(4), message: SessionMessage::Leave }]
    );
    assert_eq!(p2.submit(t(31), b"y"), Err(SubmitError::NotJoined));
}

#[test]
fn entries_of_another_epoch_are_dropped_and_counted() {
    let mut p2 = member(2);
    let other = Entry { index: 2, epoch: Epoch { term: 2, sequencer: NodeId(3) }, prev: Some(E), body: EntryBody::Left { player: NodeId(2), reason: LeaveReason::Left } };
    p2.on_message(t(5), NodeId(3), SessionMessage::Entry(other));
    assert_eq!(drain(&mut p2), vec![]);
    assert_eq!((p2.metrics().wrong_epoch, p2.delivered()), (1, 1));
}

#[test]
fn calls_out_of_bounds_are_refused() {
    let mut p2 = member(2);
    let big = vec![0u8; SessionConfig::default().max_payload + 1];
    assert_eq!(p2.submit(t(1), &big), Err(SubmitError::TooLarge));
    for _ in 0..SessionConfig::default().max_pending {
        p2.submit(t(1), b"x").unwrap();
    }
    assert_eq!(p2.submit(t(1), b"x"), Err(SubmitError::TooManyPending));
    assert_eq!(Session::new(SessionConfig::default(), NodeId(5)).join(t(0), &big), Err(SubmitError::TooLarge));
}

#[test]
fn a_join_beyond_max_players_is_refused_and_the_joiner_told() {
    let mut seq = sequencer_with(SessionConfig { max_players: 1, ..SessionConfig::default() });
    seq.on_message(t(1), NodeId(2), SessionMessage::Join { info: b"p".to_vec() });
    drain(&mut seq);
    seq.on_message(t(2), NodeId(3), SessionMessage::Join { info: b"q".to_vec() });
    let refused = SessionMessage::JoinRefused { reason: RefuseReason::Full };
    assert_eq!(drain(&mut seq), vec![SessionAction::Send { to: NodeId(3), message: refused.clone() }]);
    assert_eq!(seq.players().count(), 1);

    let mut p3 = following(3);
    p3.join(t(1), b"q").unwrap();
    drain(&mut p3);
    p3.on_message(t(2), SEQ, refused);
    assert_eq!(drain(&mut p3), vec![SessionAction::Event(SessionEvent::JoinFailed { reason: RefuseReason::Full })]);
    assert!(!p3.is_member());
    assert_eq!(p3.submit(t(3), b"x"), Err(SubmitError::NotJoined));
    assert_eq!(p3.next_deadline(), None, "a refused joiner does not ask again");
}

#[test]
fn a_restarted_submitters_new_ids_are_placed_and_its_old_ones_are_not_placed_twice() {
    let mut seq = sequencer();
    seq.on_message(t(1), NodeId(2), SessionMessage::Join { info: b"p".to_vec() });
    let submit = |id: u32| SessionMessage::Submit { submit: SubmitId(id), payload: b"x".to_vec() };
    seq.on_message(t(2), NodeId(2), submit(1_000));
    seq.on_message(t(3), NodeId(2), submit(1_000));
    drain(&mut seq);
    assert_eq!((seq.metrics().sequenced, seq.metrics().duplicate_submits), (2, 1), "the join and one event");
    // Its node restarted: the new session drew another base, far from the old ids.
    let restarted = Session::new(SessionConfig::default(), NodeId(2)).with_submit_base(5_000_000);
    assert_eq!(restarted.last_submit, 5_000_000);
    seq.on_message(t(4), NodeId(2), submit(5_000_001));
    assert_eq!(seq.metrics().sequenced, 3);
}

/// The sequencer's record of a submitter's placed submits: the highest and the 64 below it.
/// A jump of exactly 64 keeps the old highest as the window's last; a duplicate of any id
/// in the window is refused, and one older than the window cannot be told apart from a
/// placed one, so it is refused too (the submitter's timeout ends it).
#[test]
fn the_placed_window_remembers_the_old_highest_across_a_jump_of_64() {
    use super::state::SubmitWindow;
    let mut w = SubmitWindow::default();
    assert!(w.insert(SubmitId(10)));
    assert!(!w.insert(SubmitId(10)), "a duplicate of the highest");
    assert!(w.insert(SubmitId(74)), "64 above");
    assert!(!w.insert(SubmitId(10)), "the old highest is the window's last");
    assert!(w.insert(SubmitId(73)), "never placed, inside the window");
    assert!(!w.insert(SubmitId(73)));
    assert!(w.insert(SubmitId(139)), "65 above");
    assert!(!w.insert(SubmitId(74)), "64 below the new highest");
    assert!(!w.insert(SubmitId(73)), "older than the window: refused");
    assert!(w.insert(SubmitId(138)));
}
