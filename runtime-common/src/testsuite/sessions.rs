//! The game-session scenarios: players join through their handles, submit, and every
//! node's [`SessionStream`] shows the same entries in the same order, each submit ending in
//! its `Sequenced` event after its entry; leaves are entries too; refused calls say why;
//! a stream that falls behind says so. Each node's game answers `SnapshotWanted` with its
//! state (the entries it holds), so a player that joins after others starts from another's
//! state ([`SessionUpdate::Snapshot`]) and the checks hold of that state too.

use core::time::Duration;
use std::time::Instant;

use blemesh_core::session::{Entry, EntryBody, LeaveReason, SessionEvent, SessionId, SubmitId};
use blemesh_core::{Event, NodeId};

use super::{Net, TestMesh, TestRuntime};
use crate::{DriverOptions, Error, MeshEvent, RecvError, SessionStream, SessionUpdate};

const GAME: SessionId = SessionId(0x6a6d);
const LONG: Duration = Duration::from_secs(8);

/// The session streams of every node of a mesh, with what each showed so far.
struct Players {
    streams: Vec<SessionStream>,
    seen: Vec<Vec<SessionUpdate>>,
    /// The states the games provided as snapshots, by the token their bytes hold.
    snapshots: Vec<Vec<Entry>>,
    /// Per node, the `SnapshotWanted` events answered so far.
    answered: Vec<usize>,
}

impl Players {
    /// A stream of [`GAME`] on each node, opened now.
    fn open<R: TestRuntime>(mesh: &TestMesh<R>, n: usize) -> Self {
        let streams = (0..n).map(|i| mesh.handle(i).session_events(GAME)).collect();
        Players { streams, seen: vec![Vec::new(); n], snapshots: Vec::new(), answered: vec![0; n] }
    }

    /// Each game answers the snapshot requests shown since the last call with its state.
    async fn serve<R: TestRuntime>(&mut self, mesh: &TestMesh<R>) {
        for i in 0..self.seen.len() {
            let wanted = self.session_events(i).filter(|e| matches!(e, SessionEvent::SnapshotWanted { .. })).count();
            while self.answered[i] < wanted {
                self.answered[i] += 1;
                let state = self.entries(i);
                let Some(index) = state.last().map(|e| e.index) else { continue };
                let token = (self.snapshots.len() as u32).to_be_bytes().to_vec();
                self.snapshots.push(state);
                // Refused only if the game is no longer the node's to give; the asker asks another.
                let _ = mesh.handle(i).provide_snapshot(GAME, index, token).await;
            }
        }
    }

    /// Moves every update shown so far into the record; these streams never lag.
    fn pump(&mut self) {
        for (i, stream) in self.streams.iter_mut().enumerate() {
            loop {
                match stream.try_recv() {
                    Ok(Some(u)) => self.seen[i].push(u),
                    Ok(None) | Err(RecvError::Closed) => break,
                    Err(e) => panic!("node {i}: {e}"),
                }
            }
        }
    }

    /// The entries node `i`'s stream handed out, in the order shown.
    fn handed(&self, i: usize) -> impl Iterator<Item = &Entry> {
        self.seen[i].iter().filter_map(SessionUpdate::as_entry)
    }

    /// Node `i`'s game state: the entries it holds, a snapshot's state first if it started
    /// from one.
    fn entries(&self, i: usize) -> Vec<Entry> {
        let mut state: Vec<Entry> = Vec::new();
        for u in &self.seen[i] {
            match u {
                SessionUpdate::Entry(e) => state.push(Entry::clone(e)),
                SessionUpdate::Snapshot { index, data } => {
                    let token = u32::from_be_bytes(data[..4].try_into().expect("a token")) as usize;
                    state = self.snapshots[token].clone();
                    assert_eq!(state.last().map(|e| e.index), Some(*index), "node {i}: a snapshot as of its index");
                }
                _ => {}
            }
        }
        state
    }

    /// Node `i`'s game events as (index, submitter, submit, payload).
    fn events_of(&self, i: usize) -> Vec<(u64, NodeId, SubmitId, Vec<u8>)> {
        let event = |e: &Entry| match &e.body {
            EntryBody::Event { submitter, submit, payload } => Some((e.index, *submitter, *submit, payload.clone())),
            _ => None,
        };
        self.entries(i).iter().filter_map(event).collect()
    }

    /// Node `i`'s session events, in the order shown.
    fn session_events(&self, i: usize) -> impl Iterator<Item = &SessionEvent> {
        self.seen[i].iter().filter_map(SessionUpdate::as_event)
    }

    /// Node `i`'s `Sequenced` events as (submit, index).
    fn sequenced(&self, i: usize) -> Vec<(SubmitId, u64)> {
        let sequenced = |e: &SessionEvent| match e {
            SessionEvent::Sequenced { submit, index } => Some((*submit, *index)),
            _ => None,
        };
        self.session_events(i).filter_map(sequenced).collect()
    }

    /// Whether node `i` showed its own `Joined` event.
    fn joined(&self, i: usize) -> bool {
        self.session_events(i).any(|e| matches!(e, SessionEvent::Joined { .. }))
    }

    /// Waits until `done` holds, pumping the streams and the mesh's record; panics after
    /// `timeout` with what each stream showed.
    async fn wait_for<R: TestRuntime>(&mut self, mesh: &mut TestMesh<R>, what: &str, done: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        loop {
            mesh.pump();
            self.pump();
            self.serve(mesh).await;
            if done(self) {
                return;
            }
            if start.elapsed() > LONG {
                for (i, seen) in self.seen.iter().enumerate() {
                    eprintln!("node {i}: {seen:?}");
                }
                panic!("{:?}: timed out after {LONG:?} waiting for {what}", mesh.net);
            }
            R::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Waits until every node's latest election names one coordinator.
async fn one_coordinator<R: TestRuntime>(mesh: &mut TestMesh<R>, n: usize) {
    let latest = |m: &TestMesh<R>, i: usize| {
        m.events(i).iter().rev().find_map(|e| match e {
            MeshEvent::Core(Event::CoordinatorElected { node, .. }) => Some(*node),
            _ => None,
        })
    };
    mesh.wait_for("one coordinator for every node", LONG, |m| {
        latest(m, 0).is_some_and(|c| (1..n).all(|i| latest(m, i) == Some(c)))
    })
    .await;
}

/// A line of `n` that elected its coordinator, with a stream of [`GAME`] open on each node
/// and every node joined (`info` "p0", "p1", ...) and shown its `Joined` event.
async fn joined_line<R: TestRuntime>(net: Net, n: usize, options: DriverOptions) -> (TestMesh<R>, Players) {
    let edges: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
    let mut mesh = TestMesh::<R>::new(net, n, &edges, options);
    mesh.wait_formed().await;
    one_coordinator(&mut mesh, n).await;
    let mut players = Players::open(&mesh, n);
    for i in 0..n {
        mesh.handle(i).join_session(GAME, format!("p{i}")).await.expect("join");
    }
    players.wait_for(&mut mesh, "every node joined", |p| (0..n).all(|i| p.joined(i))).await;
    for i in 0..n {
        // The first player's stream begins at its own Joined entry; a later one's with the
        // snapshot of another's game, which may hold its Joined entry already.
        let own = EntryBody::Joined { player: mesh.id(i), info: format!("p{i}").into_bytes() };
        let first = players.seen[i].iter().find(|u| !matches!(u, SessionUpdate::Event(SessionEvent::SnapshotWanted { .. })));
        let begins = match first {
            Some(SessionUpdate::Entry(e)) => e.body == own,
            Some(SessionUpdate::Snapshot { .. }) => true,
            _ => false,
        };
        assert!(begins, "node {i}: its stream begins at its own Joined entry or a snapshot: {:?}", players.seen[i]);
        assert!(players.entries(i).iter().any(|e| e.body == own), "node {i}: its game holds its own Joined entry");
    }
    (mesh, players)
}

/// Three nodes join one session and each submits three events: every node's stream shows
/// the same nine entries at the same indices, the histories agree wherever they overlap,
/// each submit ends in one `Sequenced` event naming its entry's index and shown after that
/// entry, and the generic event stream carries the same entries in the same order.
pub async fn session_entries_in_one_order_everywhere<R: TestRuntime>(net: Net) {
    const N: usize = 3;
    const ROUNDS: usize = 3;
    let (mut mesh, mut players) = joined_line::<R>(net, N, DriverOptions::default()).await;
    let mut submits: Vec<Vec<SubmitId>> = vec![Vec::new(); N];
    for round in 0..ROUNDS {
        for (i, ids) in submits.iter_mut().enumerate() {
            ids.push(mesh.handle(i).submit(GAME, format!("{i}:{round}")).await.expect("submit"));
        }
    }
    players
        .wait_for(&mut mesh, "every event everywhere, every submit sequenced", |p| {
            (0..N).all(|i| p.events_of(i).len() == N * ROUNDS && p.sequenced(i).len() == ROUNDS)
        })
        .await;
    mesh.settle(Duration::from_millis(200)).await; // room for anything shown twice
    players.pump();
    let reference = players.events_of(0);
    assert_eq!(reference.len(), N * ROUNDS);
    for (i, own) in submits.iter().enumerate() {
        assert_eq!(players.events_of(i), reference, "node {i} shows the events of node 0, in its order");
        assert_eq!(players.sequenced(i).len(), ROUNDS, "node {i}: one Sequenced per submit");
        let indices: Vec<u64> = players.entries(i).iter().map(|e| e.index).collect();
        assert!(indices.windows(2).all(|w| w[1] == w[0] + 1), "node {i}: contiguous, {indices:?}");
        for (submit, index) in players.sequenced(i) {
            assert!(own.contains(&submit), "node {i}: {submit:?} is its own");
            let shown_at = players.seen[i].iter().position(|u| u == &SessionUpdate::Event(SessionEvent::Sequenced { submit, index }));
            let entry_at = players.seen[i].iter().position(|u| {
                u.as_entry().is_some_and(|e| {
                    e.index == index && matches!(&e.body, EntryBody::Event { submitter, submit: s, .. } if *submitter == mesh.id(i) && *s == submit)
                })
            });
            assert!(entry_at.is_some() && entry_at < shown_at, "node {i}: {submit:?}'s entry at {index} before its event");
        }
        let unexpected = players
            .session_events(i)
            .find(|e| !matches!(e, SessionEvent::Sequenced { .. } | SessionEvent::Joined { .. } | SessionEvent::SnapshotWanted { .. }));
        assert_eq!(unexpected, None, "node {i}: no failure, loss or rebase on a lossless mesh");
        for j in 0..i {
            for e in players.entries(i) {
                if let Some(other) = players.entries(j).into_iter().find(|o| o.index == e.index) {
                    assert_eq!(other, e, "nodes {j} and {i} disagree at index {}", e.index);
                }
            }
        }
        let generic: Vec<&Entry> =
            mesh.events(i).iter().filter_map(MeshEvent::as_sequenced).filter(|(s, _)| *s == GAME).map(|(_, e)| e).collect();
        assert_eq!(generic, players.handed(i).collect::<Vec<_>>(), "node {i}: MeshEvent::Sequenced alike");
    }
    mesh.shutdown().await;
}

/// A player that leaves is a `Left` entry at one index on the others' streams; its own
/// stream shows nothing after it, and its submits are refused until it joins again.
pub async fn session_leave_is_an_entry_for_the_others<R: TestRuntime>(net: Net) {
    let (mut mesh, mut players) = joined_line::<R>(net, 3, DriverOptions::default()).await;
    let leaver = mesh.id(2);
    mesh.handle(2).leave_session(GAME).await.expect("leave");
    let is_left = |e: &Entry| e.body == EntryBody::Left { player: leaver, reason: LeaveReason::Left };
    players.wait_for(&mut mesh, "the Left entry on nodes 0 and 1", |p| (0..2).all(|i| p.entries(i).iter().any(is_left))).await;
    let at = |p: &Players, i: usize| p.entries(i).into_iter().find(|e| is_left(e)).map(|e| e.index);
    assert_eq!(at(&players, 0), at(&players, 1), "one index for the leave");
    let refused = mesh.handle(2).submit(GAME, "after leaving").await;
    assert!(matches!(refused, Err(Error::NotJoined { session: GAME })), "{refused:?}");
    let shown = players.seen[2].len();
    mesh.handle(0).submit(GAME, "after the leave").await.expect("submit");
    let after = |e: &Entry| matches!(&e.body, EntryBody::Event { payload, .. } if payload == b"after the leave");
    players.wait_for(&mut mesh, "the next event on node 1", |p| p.entries(1).iter().any(after)).await;
    mesh.settle(Duration::from_millis(200)).await;
    players.pump();
    assert_eq!(players.seen[2].len(), shown, "the leaver's stream shows nothing more: {:?}", &players.seen[2][shown..]);
    let players_left: Vec<NodeId> = players.entries(1).iter().filter(|e| is_left(e)).map(Entry::player).collect();
    assert_eq!(players_left, vec![leaver], "one Left entry");
    mesh.shutdown().await;
}

/// Calls the node refuses come back with clear errors: a submit or a leave before joining,
/// a player info or a payload above the session's limits.
pub async fn session_calls_refused_with_clear_errors<R: TestRuntime>(net: Net) {
    let mut mesh = TestMesh::<R>::line(net, 2);
    mesh.wait_formed().await;
    let handle = mesh.handle(0).clone();
    let early = handle.submit(GAME, "too early").await;
    let Err(e @ Error::NotJoined { session: GAME }) = early else { panic!("{early:?}") };
    let text = e.to_string();
    assert!(text.contains(&format!("not a player of session {}", GAME.0)) && text.contains("join"), "{text}");
    let leave = handle.leave_session(GAME).await;
    assert!(matches!(leave, Err(Error::NotJoined { session: GAME })), "{leave:?}");
    let max_info = blemesh_core::session::SessionConfig::default().max_info;
    let big_info = handle.join_session(GAME, vec![b'i'; max_info + 1]).await;
    let Err(e @ Error::SessionTooLarge { session: GAME, .. }) = big_info else { panic!("{big_info:?}") };
    assert!(matches!(e, Error::SessionTooLarge { len, max, .. } if len == max_info + 1 && max == max_info), "{e:?}");
    assert!(e.to_string().contains(&format!("at most {max_info}")), "{e}");
    one_coordinator(&mut mesh, 2).await;
    let mut players = Players::open(&mesh, 1);
    handle.join_session(GAME, "ok").await.expect("join");
    players.wait_for(&mut mesh, "node 0 joined", |p| p.joined(0)).await;
    let max_payload = blemesh_core::session::SessionConfig::default().max_payload;
    let big = handle.submit(GAME, vec![0u8; max_payload + 1]).await;
    assert!(matches!(big, Err(Error::SessionTooLarge { len, max, .. }) if len == max_payload + 1 && max == max_payload), "{big:?}");
    handle.submit(GAME, vec![0u8; max_payload]).await.expect("the largest payload fits");
    mesh.shutdown().await;
}

/// A session stream nobody reads, with room for eight updates, loses the oldest when
/// twenty entries come, and says how many at its next read, then shows the newest eight in
/// order; the streams read along and the generic event stream lose nothing.
pub async fn lagging_session_stream_says_so<R: TestRuntime>(net: Net) {
    const CAPACITY: usize = 8;
    const SUBMITS: usize = 20;
    let options = DriverOptions::default().with_session_capacity(CAPACITY);
    let (mut mesh, mut players) = joined_line::<R>(net, 2, options).await;
    let last = |p: &Players, i: usize| p.entries(i).last().map(|e| e.index);
    players.wait_for(&mut mesh, "both streams at the same entry", |p| last(p, 0) == last(p, 1)).await;
    let mark = players.seen[0].len();
    let mut idle = mesh.handle(0).session_events(GAME);
    // One submit at a time, each shown on both streams read along before the next: they
    // never hold more than a few updates between two reads.
    for k in 0..SUBMITS {
        mesh.handle(1).submit(GAME, format!("burst {k}")).await.expect("submit");
        players
            .wait_for(&mut mesh, "the submit on both streams", |p| p.sequenced(1).len() > k && last(p, 0) == last(p, 1))
            .await;
    }
    let since: Vec<SessionUpdate> = players.seen[0][mark..].to_vec();
    assert_eq!(since.len(), SUBMITS, "node 0 showed the twenty entries");
    let lost = (SUBMITS - CAPACITY) as u64;
    assert_eq!(idle.try_recv(), Err(RecvError::Lagged { missed: lost }), "the lag is reported, with its size");
    let held: Vec<SessionUpdate> = std::iter::from_fn(|| idle.try_recv().expect("held after the lag")).collect();
    assert_eq!(held, since[SUBMITS - CAPACITY..], "then the newest eight, in order");
    let generic = mesh.events(0).iter().filter_map(MeshEvent::as_sequenced).filter(|(s, _)| *s == GAME).count();
    assert_eq!(generic, players.handed(0).count(), "the generic stream lost nothing");
    mesh.shutdown().await;
}
