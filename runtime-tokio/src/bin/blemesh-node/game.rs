//! The game state `blemesh-node` keeps for each session it plays: the game events its
//! stream handed out, as JSON. It provides that state when a catching-up player asks
//! (`snapshot_wanted`), and starts from another node's state when it catches up itself
//! (a `snapshot` line), so a node that joins late or restarts shows the game so far.

use std::collections::HashMap;

use blemesh_core::Event;
use blemesh_core::session::{EntryBody, SessionEvent, SessionId};
use blemesh_tokio::MeshEvent;
use serde_json::{Value, json};

/// Game events per session: `[index, submitter, payload]` each, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Games {
    events: HashMap<SessionId, Vec<Value>>,
    /// The last entry each session's stream handed out (or its snapshot's index).
    last: HashMap<SessionId, u64>,
}

/// What a game asks of the node after an event.
pub(crate) enum Ask {
    /// Provide this state of `session` as of `index`.
    Provide(SessionId, u64, Vec<u8>),
    /// Print this line.
    Line(Value),
}

impl Games {
    /// Follows `e`; returns what the game asks for in answer, if anything.
    pub(crate) fn on_event(&mut self, e: &MeshEvent, max_snapshot: usize) -> Option<Ask> {
        match e {
            MeshEvent::Sequenced { session, entry } => {
                let events = self.events.entry(*session).or_default();
                events.retain(|v| v[0].as_u64().is_some_and(|i| i < entry.index)); // a rebase replays
                if let EntryBody::Event { submitter, payload, .. } = &entry.body {
                    events.push(json!([entry.index, submitter.0, String::from_utf8_lossy(payload)]));
                }
                self.last.insert(*session, entry.index);
                None
            }
            MeshEvent::Core(Event::Session { session, event: SessionEvent::SnapshotWanted { .. } }) => {
                let index = *self.last.get(session)?;
                let events = self.events.get(session).map(Vec::as_slice).unwrap_or_default();
                // The newest events that fit the session's largest snapshot.
                let mut from = 0;
                let mut data = serde_json::to_vec(&events[from..]).ok()?;
                while data.len() > max_snapshot && from < events.len() {
                    from += (events.len() - from).div_ceil(8);
                    data = serde_json::to_vec(&events[from..]).ok()?;
                }
                Some(Ask::Provide(*session, index, data))
            }
            MeshEvent::Snapshot { session, index, data } => {
                let state: Vec<Value> = serde_json::from_slice(data).unwrap_or_default();
                let line = json!({"type": "snapshot", "session": session.0, "index": index, "events": state.len(), "state": state});
                self.events.insert(*session, state);
                self.last.insert(*session, *index);
                Some(Ask::Line(line))
            }
            _ => None,
        }
    }
}
