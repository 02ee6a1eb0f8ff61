//! Game sessions across a mesh, in the harness: players join, submit, and every player
//! delivers the same entries in the same order; every submit ends sequenced or failed.

use std::collections::BTreeMap;
use std::time::Duration;

use blemesh_core::session::{EntryBody, SessionEvent, SessionId, SubmitId};
use blemesh_core::{Event, Instant, NodeId};
use blemesh_tests::{Harness, HarnessConfig, Topology, random_connected};

const GAME: SessionId = SessionId(0x6a6d);

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// Runs until every node of `nodes` follows one coordinator, or panics at `by`.
fn until_coordinator(h: &mut Harness, nodes: &[usize], by: Instant) -> NodeId {
    loop {
        if let Some(first) = h.nodes[nodes[0]].coordinator().map(|c| c.1) {
            if nodes.iter().all(|&i| h.nodes[i].coordinator().map(|c| c.1) == Some(first)) {
                return first;
            }
        }
        assert!(h.now() < by, "no coordinator agreed by {by:?}");
        h.run_for(Duration::from_millis(50));
    }
}

/// Every node of `players` joins, and the run goes on until each is a player.
fn join_all(h: &mut Harness, players: &[usize], within: Duration) {
    let by = h.now() + within;
    for &i in players {
        h.join_session(i, GAME, format!("p{i}").as_bytes()).expect("join");
    }
    while !players.iter().all(|&i| h.nodes[i].session(GAME).is_some_and(|s| s.is_member())) {
        assert!(h.now() < by, "not every node joined by {by:?}");
        h.run_for(Duration::from_millis(50));
    }
}

/// Each node's delivered game events, as (index, submitter, submit id, payload).
fn events_of(h: &Harness, i: usize) -> Vec<(u64, NodeId, SubmitId, Vec<u8>)> {
    h.sequenced[i]
        .iter()
        .filter(|(_, s, _)| *s == GAME)
        .filter_map(|(_, _, e)| match &e.body {
            EntryBody::Event { submitter, submit, payload } => Some((e.index, *submitter, *submit, payload.clone())),
            _ => None,
        })
        .collect()
}

/// How each submit of each node ended: sequenced (with its index) or failed.
fn endings(h: &Harness, i: usize) -> BTreeMap<SubmitId, Vec<SessionEvent>> {
    let mut out: BTreeMap<SubmitId, Vec<SessionEvent>> = BTreeMap::new();
    for (_, e) in &h.events[i] {
        if let Event::Session { session, event } = e {
            if let SessionEvent::Sequenced { submit, .. } | SessionEvent::SubmitFailed { submit, .. } = event {
                assert_eq!(*session, GAME);
                out.entry(*submit).or_default().push(*event);
            }
        }
    }
    out
}

/// Node `i`'s history as it stands: its deliveries in order, with what each rebase undid
/// taken off. Checks as it goes that indices are contiguous, except where a rebase went
/// back to its fork (the next rebase event's) or the node's own `Joined` entry follows its
/// loss (entries while it was not a player are not delivered to it).
fn history(h: &Harness, i: usize) -> Vec<blemesh_core::session::Entry> {
    let mut forks = h.events[i].iter().filter_map(|(_, e)| match e {
        Event::Session { event: SessionEvent::Rebased { fork, .. }, .. } => Some(*fork),
        _ => None,
    });
    let mut out: Vec<blemesh_core::session::Entry> = Vec::new();
    for (_, _, e) in h.sequenced[i].iter().filter(|(_, s, _)| *s == GAME) {
        let last = out.last().map_or(0, |l| l.index);
        if e.index <= last {
            let fork = forks.next().unwrap_or_else(|| panic!("node {i} went back to {} with no rebase", e.index));
            assert_eq!(fork + 1, e.index, "node {i} went back to the rebase's fork");
            out.retain(|l| l.index <= fork);
        } else if e.index != last + 1 && !out.is_empty() {
            let rejoined = matches!(e.body, EntryBody::Joined { player, .. } if player == h.id(i));
            assert!(rejoined, "node {i} delivered {} after {last}", e.index);
        }
        out.push(e.clone());
    }
    out
}

/// Any two players' histories hold the same entry at every index both hold.
fn assert_one_order(h: &Harness, players: &[usize]) {
    let mut by_index: BTreeMap<u64, (usize, blemesh_core::session::Entry)> = BTreeMap::new();
    for &i in players {
        for e in history(h, i) {
            if let Some((j, other)) = by_index.get(&e.index) {
                assert_eq!(*other, e, "nodes {j} and {i} disagree at index {}", e.index);
            } else {
                by_index.insert(e.index, (i, e));
            }
        }
    }
}

/// Each node of `players` submits `per_node` events, one every `gap`, staggered.
fn submit_rounds(h: &mut Harness, players: &[usize], per_node: usize, gap: Duration) -> usize {
    let mut submitted = 0;
    for round in 0..per_node {
        for &i in players {
            h.submit(i, GAME, format!("{i}:{round}").as_bytes()).expect("submit");
            submitted += 1;
            h.run_for(gap / players.len() as u32);
        }
    }
    submitted
}

#[test]
fn players_on_a_lossless_mesh_deliver_every_event_in_one_order() {
    let mut h = Harness::new(random_connected(8, 4, 4, 3), HarnessConfig::default());
    let players: Vec<usize> = (0..8).collect();
    until_coordinator(&mut h, &players, at(15_000));
    join_all(&mut h, &players, Duration::from_secs(5));
    let submitted = submit_rounds(&mut h, &players, 5, Duration::from_millis(200));
    h.run_for(Duration::from_secs(4));

    assert_one_order(&h, &players);
    for &i in &players {
        assert_eq!(events_of(&h, i).len(), submitted, "node {i} delivered every event");
        let ends = endings(&h, i);
        assert_eq!(ends.len(), 5, "node {i}'s five submits each ended");
        for (submit, events) in ends {
            assert!(
                matches!(events.as_slice(), [SessionEvent::Sequenced { .. }]),
                "node {i}'s submit {submit:?} ended once, sequenced: {events:?}"
            );
        }
    }
    let seq = h.nodes.iter().find(|n| n.session(GAME).is_some_and(|s| s.is_sequencer())).expect("a sequencer");
    assert_eq!(seq.session(GAME).unwrap().players().count(), 8);
    assert!(h.nodes.iter().all(|n| n.metrics().drops.get(blemesh_core::DropReason::MalformedBody) == 0));
}

#[test]
fn with_a_fifth_of_frames_lost_gaps_are_repaired_and_no_submit_ends_in_silence() {
    let cfg = HarnessConfig { loss: 0.2, seed: 7, ..HarnessConfig::default() };
    let mut h = Harness::new(random_connected(6, 4, 4, 5), cfg);
    let players: Vec<usize> = (0..6).collect();
    until_coordinator(&mut h, &players, at(30_000));
    join_all(&mut h, &players, Duration::from_secs(10));
    let submitted = submit_rounds(&mut h, &players, 4, Duration::from_millis(300));
    h.run_for(Duration::from_secs(6));

    assert_one_order(&h, &players);
    let mut sequenced = 0;
    for &i in &players {
        for (submit, events) in endings(&h, i) {
            assert_eq!(events.len(), 1, "node {i}'s submit {submit:?} ended exactly once: {events:?}");
            sequenced += usize::from(matches!(events[0], SessionEvent::Sequenced { .. }));
        }
        assert_eq!(endings(&h, i).len(), 4, "node {i}'s every submit ended");
    }
    // Every sequenced event reached every player (repairs filled the gaps).
    for &i in &players {
        assert_eq!(events_of(&h, i).len(), sequenced, "node {i}");
    }
    assert!(sequenced * 10 >= submitted * 9, "{sequenced} of {submitted} sequenced");
    let resent: u64 = h.nodes.iter().map(|n| n.metrics().retransmissions).sum();
    assert!(resent > 0, "frames were lost and sent again");
}

#[test]
fn a_player_cut_off_is_placed_as_lost_and_joins_again_when_back() {
    let mut h = Harness::new(Topology::line(4), HarnessConfig::default());
    let players: Vec<usize> = (0..4).collect();
    let coordinator = until_coordinator(&mut h, &players, at(15_000));
    join_all(&mut h, &players, Duration::from_secs(5));
    // The end of the line away from the coordinator is cut off.
    let far = if h.index(coordinator) == Some(3) { 0 } else { 3 };
    let next = if far == 3 { 2 } else { 1 };
    h.cut(far, next);
    h.run_for(Duration::from_secs(8));
    let lost = h.sequenced.iter().enumerate().filter(|(i, _)| *i != far).all(|(_, entries)| {
        entries.iter().any(|(_, _, e)| matches!(e.body, EntryBody::Left { player, .. } if player == h.id(far)))
    });
    assert!(lost, "every other player delivered the far node's loss");
    h.connect(far, next);
    // Healed, the far node's history (where the others were lost) loses to the larger
    // side's (where it was): it rebases, finds itself lost, and joins again.
    let by = h.now() + Duration::from_secs(15);
    let back = |h: &Harness| {
        let lost = h.events[far].iter().position(|(_, e)| matches!(e, Event::Session { event: SessionEvent::Lost { .. }, .. }));
        lost.is_some_and(|k| h.events[far][k..].iter().any(|(_, e)| matches!(e, Event::Session { event: SessionEvent::Joined { .. }, .. })))
    };
    while !back(&h) {
        assert!(h.now() < by, "the far node is a player again");
        h.run_for(Duration::from_millis(100));
    }
    assert!(h.events[far].iter().any(|(_, e)| matches!(e, Event::Session { event: SessionEvent::Rebased { fork: 4.., .. }, .. })));
    h.submit(far, GAME, b"back").unwrap();
    h.run_for(Duration::from_secs(2));
    assert_one_order(&h, &players);
    for &i in &players {
        assert!(events_of(&h, i).iter().any(|e| e.3 == b"back"), "node {i} delivered the returning player's event");
    }
}

/// A player's app restarts amid a game of over 100 events: the node comes back fresh, joins
/// again at once, and its game catches up from a 4 KiB snapshot another player's game
/// provides, then the entries after it — within 2 s of power-on, on a lossless mesh and
/// with a tenth of frames lost.
#[test]
fn a_restarted_player_catches_up_from_a_snapshot_within_2_s() {
    for (loss, seed) in [(0.0, 11), (0.1, 12)] {
        let cfg = HarnessConfig { loss, seed, ..HarnessConfig::default() };
        let mut h = Harness::new(random_connected(8, 4, 4, seed), cfg);
        let players: Vec<usize> = (0..8).collect();
        let coordinator = until_coordinator(&mut h, &players, at(30_000));
        join_all(&mut h, &players, Duration::from_secs(10));
        submit_rounds(&mut h, &players, 14, Duration::from_millis(150));
        h.run_for(Duration::from_secs(2));
        let r = (0..8).find(|&i| h.id(i) != coordinator).expect("a player that does not coordinate");
        let neighbours = h.power_off(r);
        h.run_for(Duration::from_millis(500));
        h.sequenced[r].clear(); // the restarted game holds nothing
        let on = h.now();
        let node = blemesh_core::Node::new(blemesh_core::Config::new(h.id(r), seed * 1000 + 7), on).unwrap();
        h.power_on(r, node, &neighbours);
        h.join_session(r, GAME, b"back").expect("join");
        // The others play on meanwhile.
        let others: Vec<usize> = players.iter().copied().filter(|&i| i != r).collect();
        while !h.nodes[r].session(GAME).is_some_and(|s| s.is_member()) {
            assert!(h.now() < on + Duration::from_secs(10), "loss {loss}: node {r} never caught up");
            h.run_for(Duration::from_millis(10));
        }
        let caught_up = h.now() - on;
        let session = h.nodes[r].session(GAME).unwrap();
        assert_eq!(session.metrics().snapshots_installed, 1, "loss {loss}: it caught up from one snapshot");
        let state = h.game_state(r, GAME);
        let events = state.iter().filter(|e| matches!(e.body, EntryBody::Event { .. })).count();
        assert!(events >= 100, "loss {loss}: the snapshot's state holds the game so far ({events} events)");
        eprintln!("loss {loss}: caught up {caught_up:?} after power-on, {} entries, {events} events", state.len());
        assert!(caught_up <= Duration::from_secs(2), "loss {loss}: caught up after {caught_up:?}");
        submit_rounds(&mut h, &others, 2, Duration::from_millis(150));
        h.run_for(Duration::from_secs(3));
        // Its game state, snapshot and all, is the others' at every index.
        let reference = h.game_state(others[0], GAME);
        let mine = h.game_state(r, GAME);
        let shared = mine.len().min(reference.len());
        assert!(shared > state.len(), "loss {loss}: it played on after catching up");
        assert_eq!(mine[..shared], reference[..shared], "loss {loss}: the restarted game's state is everyone's");
    }
}
