//! Catching up from a snapshot: asked, provided, sent in chunks, repaired, installed before
//! the entries after it; refused, discarded, given up; a player back from a loss catches up
//! from its log. Each test asserts the exact actions emitted.

use alloc::vec;
use alloc::vec::Vec;

use super::sequence_tests::{E, SEQ, drain, entry, following, t};
use super::*;
use crate::NodeId;

const P2: NodeId = NodeId(2);
const P3: NodeId = NodeId(3);

fn joined(index: u64, player: NodeId) -> Entry {
    entry(index, EntryBody::Joined { player, info: b"p".to_vec() })
}

fn event(index: u64, submit: u32) -> Entry {
    entry(index, EntryBody::Event { submitter: P2, submit: SubmitId(submit), payload: vec![index as u8] })
}

/// Player 2: joined first (index 1), its game handed entries 1..=3.
fn provider() -> Session {
    let mut s = following(2);
    s.join(t(0), b"p").unwrap();
    drain(&mut s);
    s.on_message(t(1), SEQ, SessionMessage::Roster { epoch: E, index: 0, last: None, players: vec![], placed: vec![] });
    for e in [joined(1, P2), event(2, 1), event(3, 2)] {
        s.on_message(t(2), SEQ, SessionMessage::Entry(e));
    }
    assert_eq!(drain(&mut s).len(), 4, "three entries and its Joined event");
    assert!(s.is_member());
    s
}

/// Player 3, joining after entry 3 (player 2 plays): its `Joined` entry 4 makes it a player
/// that catches up; its request to player 2 is returned.
fn joiner() -> (Session, SessionMessage) {
    let mut s = following(3);
    s.join(t(0), b"p").unwrap();
    drain(&mut s);
    let roster = SessionMessage::Roster { epoch: E, index: 3, last: Some(E), players: vec![(P2, b"p".to_vec())], placed: vec![] };
    s.on_message(t(10), SEQ, roster);
    s.on_message(t(11), SEQ, SessionMessage::Entry(joined(4, P3)));
    let request = SessionMessage::SnapshotRequest { after: 3, index: 0, missing: 0 };
    assert_eq!(drain(&mut s), vec![SessionAction::Send { to: P2, message: request.clone() }], "its game is handed nothing yet");
    assert!(s.is_catching_up() && !s.is_member());
    assert_eq!(s.submit(t(11), b"x"), Err(SubmitError::CatchingUp));
    (s, request)
}

/// The chunks of a 1,100-byte snapshot as of `index` (chunks of 512 bytes).
fn chunks_of(index: u64, data: &[u8]) -> Vec<SessionMessage> {
    data.chunks(512)
        .enumerate()
        .map(|(n, c)| SessionMessage::SnapshotChunk { index, tail: E, total: 1100, size: 512, number: n as u8, data: c.to_vec() })
        .collect()
}

/// Player 2 answers `request` with a snapshot as of `index`, and every chunk reaches player 3.
fn serve(p2: &mut Session, p3: &mut Session, request: SessionMessage, index: u64) {
    p2.on_message(t(12), P3, request);
    drain(p2);
    p2.provide_snapshot(t(13), index, &state()).unwrap();
    for a in drain(p2) {
        let SessionAction::Send { message, .. } = a else { unreachable!() };
        p3.on_message(t(14), P2, message);
    }
}

fn state() -> Vec<u8> {
    (0..1100u32).map(|i| (i % 251) as u8).collect()
}

#[test]
fn a_joiner_catches_up_from_a_provided_snapshot_then_the_entries_after_it() {
    let (mut p2, (mut p3, request)) = (provider(), joiner());
    p2.on_message(t(12), P3, request);
    assert_eq!(drain(&mut p2), vec![SessionAction::Event(SessionEvent::SnapshotWanted { after: 3 })]);
    assert_eq!(p2.provide_snapshot(t(13), 4, &state()), Err(snapshot::SnapshotError::Ahead));
    p2.provide_snapshot(t(13), 3, &state()).unwrap();
    let sent: Vec<SessionAction> = chunks_of(3, &state()).into_iter().map(|m| SessionAction::Send { to: P3, message: m }).collect();
    assert_eq!(drain(&mut p2), sent, "three chunks, straight to the joiner");
    // Entry 5 arrives meanwhile: held from the game until the snapshot is in.
    p3.on_message(t(14), SEQ, SessionMessage::Entry(event(5, 3)));
    assert_eq!(drain(&mut p3), vec![]);
    for m in chunks_of(3, &state()) {
        p3.on_message(t(15), P2, m);
    }
    assert_eq!(
        drain(&mut p3),
        vec![
            SessionAction::Snapshot { index: 3, data: state() },
            SessionAction::Deliver(joined(4, P3)),
            SessionAction::Event(SessionEvent::Joined { index: 4 }),
            SessionAction::Deliver(event(5, 3)),
        ],
        "the snapshot, then its own join and what followed, each event after its entry"
    );
    assert!(p3.is_member() && !p3.is_catching_up());
    assert_eq!((p3.metrics().snapshots_installed, p2.metrics().snapshot_chunks_sent), (1, 3));
    // Another joiner asking meanwhile is served from the snapshot kept, without asking the game.
    p2.on_message(t(16), NodeId(4), SessionMessage::SnapshotRequest { after: 2, index: 0, missing: 0 });
    assert_eq!(drain(&mut p2).len(), 3);
}

#[test]
fn a_lost_chunk_is_asked_for_again_and_the_rest_is_not() {
    let (mut p2, (mut p3, request)) = (provider(), joiner());
    p2.on_message(t(12), P3, request);
    drain(&mut p2);
    p2.provide_snapshot(t(13), 3, &state()).unwrap();
    drain(&mut p2);
    let chunks = chunks_of(3, &state());
    p3.on_message(t(15), P2, chunks[0].clone());
    assert_eq!(drain(&mut p3), vec![]);
    p3.on_message(t(15), P2, chunks[2].clone());
    let again = SessionMessage::SnapshotRequest { after: 3, index: 3, missing: 0b010 };
    assert_eq!(drain(&mut p3), vec![SessionAction::Send { to: P2, message: again.clone() }], "the window's last came: the lost one at once");
    p2.on_message(t(20), P3, again.clone());
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: P3, message: chunks[1].clone() }]);
    // That copy is lost too: the timer asks again, from the same player.
    p3.on_timeout(t(15) + SessionConfig::default().snapshot_retry);
    assert_eq!(drain(&mut p3), vec![SessionAction::Send { to: P2, message: again }]);
    p3.on_message(t(501), P2, chunks[1].clone());
    assert_eq!(drain(&mut p3)[0], SessionAction::Snapshot { index: 3, data: state() });
}

#[test]
fn a_player_without_the_state_says_so_and_the_next_is_asked() {
    // Player 2 asked by a joiner whose snapshot must be as of 9: it has not reached 9.
    let mut p2 = provider();
    p2.on_message(t(12), P3, SessionMessage::SnapshotRequest { after: 9, index: 0, missing: 0 });
    let none = SessionMessage::NoSnapshot { after: 9 };
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: P3, message: none }]);
    // A joiner told "none" by the only other player waits for its timer, then asks again.
    let (mut p3, request) = joiner();
    p3.on_message(t(12), P2, SessionMessage::NoSnapshot { after: 3 });
    assert_eq!(drain(&mut p3), vec![], "every other player said none: the timer paces the asking");
    p3.on_timeout(t(11) + SessionConfig::default().snapshot_retry);
    assert_eq!(drain(&mut p3), vec![SessionAction::Send { to: P2, message: request }]);
    // A game that does not answer: the requester is told none once the provider's wait is over.
    let mut p2 = provider();
    p2.on_message(t(12), P3, SessionMessage::SnapshotRequest { after: 3, index: 0, missing: 0 });
    drain(&mut p2);
    p2.on_timeout(t(12) + SessionConfig::default().snapshot_retry);
    assert_eq!(drain(&mut p2), vec![SessionAction::Send { to: P3, message: SessionMessage::NoSnapshot { after: 3 } }]);
}

#[test]
fn a_snapshot_of_another_history_is_discarded_and_one_never_found_is_given_up() {
    let (mut p3, _) = joiner();
    let other = Epoch { term: 1, sequencer: NodeId(9) };
    let data = vec![7u8; 10];
    let chunk = SessionMessage::SnapshotChunk { index: 3, tail: other, total: 10, size: 512, number: 0, data: data.clone() };
    p3.on_message(t(12), P2, chunk);
    let request = SessionMessage::SnapshotRequest { after: 3, index: 0, missing: 0 };
    assert_eq!(drain(&mut p3), vec![SessionAction::Send { to: P2, message: request }], "not its history's entry 3: asked anew");
    assert_eq!(p3.metrics().snapshots_discarded, 1);
    // Nobody provides one: after the timeout it plays on from its own history.
    p3.on_message(t(13), SEQ, SessionMessage::Entry(event(5, 3)));
    p3.on_timeout(t(11) + SessionConfig::default().snapshot_timeout);
    assert_eq!(
        drain(&mut p3),
        vec![
            SessionAction::Event(SessionEvent::NoSnapshot { from: 4 }),
            SessionAction::Deliver(joined(4, P3)),
            SessionAction::Event(SessionEvent::Joined { index: 4 }),
            SessionAction::Deliver(event(5, 3)),
        ]
    );
    assert!(p3.is_member());
    assert_eq!(p3.metrics().snapshots_missed, 1);
    // Its game lacks the state before 4: it serves no snapshot.
    p3.on_message(t(11_000), NodeId(4), SessionMessage::SnapshotRequest { after: 4, index: 0, missing: 0 });
    assert_eq!(drain(&mut p3), vec![SessionAction::Send { to: NodeId(4), message: SessionMessage::NoSnapshot { after: 4 } }]);
}

#[test]
fn a_player_back_from_a_loss_catches_up_from_its_log() {
    let mut p2 = provider();
    // Placed as lost at 4, it asks to join again; 5 is delivered meanwhile; joined at 6.
    let lost = entry(4, EntryBody::Left { player: P2, reason: LeaveReason::Lost });
    p2.on_message(t(20), SEQ, SessionMessage::Entry(lost.clone()));
    assert_eq!(drain(&mut p2), vec![SessionAction::Deliver(lost), SessionAction::Event(SessionEvent::Lost { index: 4 })]);
    p2.on_message(t(21), SEQ, SessionMessage::Entry(entry(5, EntryBody::Joined { player: P3, info: vec![] })));
    assert_eq!(drain(&mut p2), vec![], "not a player: 5 is not handed");
    p2.on_message(t(22), SEQ, SessionMessage::Entry(joined(6, P2)));
    let actions = drain(&mut p2);
    assert_eq!(
        actions,
        vec![
            SessionAction::Deliver(entry(5, EntryBody::Joined { player: P3, info: vec![] })),
            SessionAction::Deliver(joined(6, P2)),
            SessionAction::Event(SessionEvent::Joined { index: 6 }),
        ],
        "everything its game missed, from the log, and no snapshot asked for"
    );
}

#[test]
fn a_rebase_below_the_snapshot_starts_over() {
    let (mut p2, (mut p3, request)) = (provider(), joiner());
    serve(&mut p2, &mut p3, request, 3);
    drain(&mut p3);
    // The game's state is as of 3: a fork at 3 can be rolled back to, one at 2 cannot.
    assert!(p3.can_undo_to(3) && !p3.can_undo_to(2));
    p3.on_message(t(20), SEQ, SessionMessage::Rebase { epoch: E, fork: Some(2), last: 6 });
    let actions = drain(&mut p3);
    assert_eq!(actions[0], SessionAction::Event(SessionEvent::Rebased { fork: 0, undone: 1, resubmitted: 0 }));
    assert!(!p3.is_member(), "it joins afresh, and will catch up again");
}

/// A game that started from a snapshot was handed none of the entries before it, though the
/// log keeps them for others' repairs: a start-over counts as undone only what the game was
/// handed after the snapshot (here nothing), and still tells the game to drop its state.
#[test]
fn a_start_over_counts_only_what_the_game_was_handed() {
    let (mut p2, (mut p3, request)) = (provider(), joiner());
    p2.on_message(t(12), SEQ, SessionMessage::Entry(joined(4, P3)));
    for s in [&mut p2, &mut p3] {
        s.on_message(t(12), SEQ, SessionMessage::Entry(event(5, 3)));
        drain(s);
    }
    serve(&mut p2, &mut p3, request, 5);
    assert_eq!(drain(&mut p3)[0], SessionAction::Snapshot { index: 5, data: state() }, "the game starts as of 5");
    assert_eq!(p3.log().first(), Some(4), "entries 4 and 5 kept in the log");
    p3.on_message(t(20), SEQ, SessionMessage::Rebase { epoch: E, fork: None, last: 9 });
    assert_eq!(drain(&mut p3)[0], SessionAction::Event(SessionEvent::Rebased { fork: 0, undone: 0, resubmitted: 0 }));
    assert!(!p3.is_member(), "it joins afresh");
}
