//! The dice table: a pure function of the session's sequenced stream (and the snapshot it
//! started from). Every line it returns for printing is derived from entries only, so every
//! process prints the same lines for the same entries.
//!
//! Rules: players sit in join order; the player whose turn it is rolls one die; then it is
//! the next player's turn, and after the last one a new round begins (with a leaderboard).
//! A roll from anyone else, or while fewer than two players sit, is ignored by every
//! process alike. A player that leaves (or is lost) loses its seat and its total; a player
//! seen joining again while still seated keeps both.

use std::collections::VecDeque;

use blemesh_core::NodeId;
use blemesh_core::session::{Entry, EntryBody, LeaveReason};
use serde::{Deserialize, Serialize};

/// Rolls kept in the state (and so in snapshots) to show a player catching up.
const RECENT: usize = 10;
/// Entries kept since the last checkpoint, to roll back to a fork: more than the session
/// log holds (256 by default), so a rebase the core can still do is one this table can.
const HISTORY: usize = 512;

/// One seated player.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Player {
    /// Its node.
    pub(crate) id: u64,
    /// Its name (the player info it joined with).
    pub(crate) name: String,
    /// The sum of its rolls.
    pub(crate) total: u64,
}

/// One applied roll.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Roll {
    /// The entry it came in.
    pub(crate) index: u64,
    /// The round it was rolled in.
    pub(crate) round: u64,
    /// The roller's name then.
    pub(crate) name: String,
    /// The die, 1 to 6.
    pub(crate) value: u8,
    /// The roller's total after it.
    pub(crate) total: u64,
}

impl Roll {
    /// The line every process prints for this roll.
    pub(crate) fn line(&self) -> String {
        format!("#{} round {}: {} rolled {} (total {})", self.index, self.round, self.name, self.value, self.total)
    }
}

/// The game's state as of entry `index`: what a snapshot carries.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct State {
    /// The last entry applied (0: none).
    pub(crate) index: u64,
    /// The seated players, in join order.
    pub(crate) players: Vec<Player>,
    /// Position in `players` of the player whose turn it is.
    pub(crate) turn: usize,
    /// The current round, from 1 (0 before the first roll).
    pub(crate) round: u64,
    /// Rolls applied in all.
    pub(crate) rolls: u64,
    /// The newest rolls, oldest first, at most [`RECENT`].
    pub(crate) recent: VecDeque<Roll>,
}

impl State {
    /// The player whose turn it is, if two or more sit.
    pub(crate) fn turn_of(&self) -> Option<&Player> {
        (self.players.len() >= 2).then(|| &self.players[self.turn])
    }

    /// `the standings: alice 17, bob 12`, best first (ties in seat order).
    pub(crate) fn standings(&self) -> String {
        let mut players: Vec<&Player> = self.players.iter().collect();
        players.sort_by_key(|p| std::cmp::Reverse(p.total)); // stable: ties keep seat order
        let list: Vec<String> = players.iter().map(|p| format!("{} {}", p.name, p.total)).collect();
        if list.is_empty() { "nobody seated".into() } else { list.join(", ") }
    }

    /// `bob's turn`, or who is awaited.
    pub(crate) fn next_line(&self) -> String {
        match self.turn_of() {
            Some(p) => format!("  -> {}'s turn", p.name),
            None => "  -> waiting for a second player".into(),
        }
    }

    fn names(&self) -> String {
        self.players.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Applies `entry`, pushing the lines it prints to `out`.
    fn apply(&mut self, entry: &Entry, out: &mut Vec<String>) {
        self.index = entry.index;
        let i = entry.index;
        match &entry.body {
            EntryBody::Joined { player, info } => {
                let name = String::from_utf8_lossy(info).into_owned();
                let name = if name.is_empty() { format!("player {}", player.0) } else { name };
                if let Some(p) = self.players.iter_mut().find(|p| p.id == player.0) {
                    p.name = name;
                    out.push(format!("#{i} {} is back at the table", p.name));
                } else {
                    self.players.push(Player { id: player.0, name: name.clone(), total: 0 });
                    out.push(format!("#{i} {name} joined ({} players: {})", self.players.len(), self.names()));
                }
                out.push(self.next_line());
            }
            EntryBody::Left { player, reason } => {
                let Some(seat) = self.players.iter().position(|p| p.id == player.0) else { return };
                let gone = self.players.remove(seat);
                let why = match reason {
                    LeaveReason::Left => "left",
                    LeaveReason::Lost => "was lost by the mesh",
                };
                out.push(format!("#{i} {} {why} ({} players left)", gone.name, self.players.len()));
                if seat < self.turn {
                    self.turn -= 1;
                }
                if self.turn >= self.players.len() {
                    // The last seat's player left on its turn: the round is over.
                    self.turn = 0;
                    if !self.players.is_empty() {
                        self.end_round(out);
                    }
                }
                out.push(self.next_line());
            }
            EntryBody::Event { submitter, payload, .. } => {
                let value = std::str::from_utf8(payload).ok().and_then(|s| s.strip_prefix("roll ")?.parse::<u8>().ok());
                let Some(value) = value.filter(|v| (1..=6).contains(v)) else {
                    out.push(format!("#{i} ignored an unreadable event from node {}", submitter.0));
                    return;
                };
                let Some(roller) = self.turn_of().map(|p| p.id) else {
                    out.push(format!("#{i} a roll from node {} ignored: waiting for a second player", submitter.0));
                    return;
                };
                if roller != submitter.0 {
                    let name = self.players.iter().find(|p| p.id == submitter.0).map_or(format!("node {}", submitter.0), |p| p.name.clone());
                    out.push(format!("#{i} {name} rolled out of turn: ignored"));
                    return;
                }
                self.round = self.round.max(1);
                let p = &mut self.players[self.turn];
                p.total += u64::from(value);
                let roll = Roll { index: i, round: self.round, name: p.name.clone(), value, total: p.total };
                out.push(roll.line());
                self.rolls += 1;
                self.recent.push_back(roll);
                if self.recent.len() > RECENT {
                    self.recent.pop_front();
                }
                self.turn += 1;
                if self.turn == self.players.len() {
                    self.turn = 0;
                    self.end_round(out);
                }
                out.push(self.next_line());
            }
        }
    }

    fn end_round(&mut self, out: &mut Vec<String>) {
        if self.round > 0 {
            out.push(format!("leaderboard after round {}: {}", self.round, self.standings()));
            self.round += 1;
        }
    }
}

/// The table this process shows: the state, and what it needs to roll back.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// The state now.
    state: State,
    /// A checkpoint: the snapshot this process started from (or the empty table), advanced
    /// past entries older than [`HISTORY`].
    base: State,
    /// The entries applied since `base`, oldest first.
    applied: VecDeque<Entry>,
}

impl Table {
    /// The state now.
    pub(crate) fn state(&self) -> &State {
        &self.state
    }

    /// Applies the next entry of the stream; the lines to print.
    pub(crate) fn apply(&mut self, entry: &Entry) -> Vec<String> {
        let mut out = Vec::new();
        if entry.index <= self.state.index {
            return out; // already applied (never, with the core's contract)
        }
        self.state.apply(entry, &mut out);
        self.applied.push_back(entry.clone());
        if self.applied.len() > HISTORY {
            let old = self.applied.pop_front().expect("non-empty");
            self.base.apply(&old, &mut Vec::new());
        }
        out
    }

    /// Starts over from another player's snapshot as of `index`; the lines to print.
    pub(crate) fn restore(&mut self, index: u64, data: &[u8]) -> Vec<String> {
        match serde_json::from_slice::<State>(data) {
            Ok(state) if state.index == index => {
                let mut out = vec![format!(
                    "caught up from a snapshot at #{index}: {} players, {} rolls",
                    state.players.len(),
                    state.rolls
                )];
                out.extend(state.recent.iter().map(Roll::line));
                out.push(format!("standings at #{index}: {}", state.standings()));
                out.push(state.next_line());
                self.base = state.clone();
                self.state = state;
                self.applied.clear();
                out
            }
            Ok(state) => vec![format!("a snapshot said #{index} but holds #{}: ignored", state.index)],
            Err(e) => vec![format!("an unreadable snapshot at #{index} ({e}): ignored")],
        }
    }

    /// Rolls back to entry `fork` (a rebase: the entries after it follow again); `fork` 0
    /// starts over. The lines to print.
    pub(crate) fn rollback(&mut self, fork: u64, undone: u64) -> Vec<String> {
        if fork == 0 || fork < self.base.index {
            *self = Table::default();
            return vec![format!("the table's history was replaced ({undone} entries undone): starting over")];
        }
        self.applied.retain(|e| e.index <= fork);
        self.state = self.base.clone();
        for e in &self.applied {
            self.state.apply(e, &mut Vec::new());
        }
        vec![format!("rolled back to #{fork} ({undone} entries undone; they follow again)")]
    }

    /// The snapshot to provide: the last entry applied and the state, if any was.
    pub(crate) fn snapshot(&self) -> Option<(u64, Vec<u8>)> {
        (self.state.index > 0).then(|| (self.state.index, serde_json::to_vec(&self.state).expect("plain data")))
    }

    /// Whether `me` is the player to roll.
    pub(crate) fn my_turn(&self, me: NodeId) -> bool {
        self.state.turn_of().is_some_and(|p| p.id == me.0)
    }
}
