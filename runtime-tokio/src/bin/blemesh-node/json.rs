//! The JSON lines `blemesh-node` prints: one object per line, with a `"type"` field.

use blemesh_core::ble::{AdvertisingMode, RadioDecision};
use blemesh_core::session::{Entry, EntryBody, Epoch, FailReason, LeaveReason, RefuseReason, SessionEvent, SessionId};
use blemesh_core::{Degradation, Destination, Event, LossReason, Metrics, NodeId};
use blemesh_tokio::{Delivery, MeshEvent};
use serde_json::{Value, json};

/// The JSON form of a node id: its number.
fn id(n: NodeId) -> Value {
    json!(n.0)
}

/// A line for one item of the event stream.
pub(crate) fn event(e: &MeshEvent) -> Value {
    match e {
        MeshEvent::Delivery(d) => delivery(d),
        MeshEvent::LinkUp { link, mtu } => json!({"type": "link_up", "link": link.0, "mtu": mtu}),
        MeshEvent::LinkDown { link } => json!({"type": "link_down", "link": link.0}),
        MeshEvent::Core(e) => core_event(e),
        MeshEvent::Radio(d) => radio(d),
        MeshEvent::Sequenced { session, entry } => sequenced(*session, entry),
        other => json!({"type": "event", "debug": format!("{other:?}")}),
    }
}

/// A line for a radio decision of the node (what a BLE transport is asked to apply).
fn radio(d: &RadioDecision) -> Value {
    match d {
        RadioDecision::LinkParameters { link, params } => json!({
            "type": "link_parameters",
            "link": link.0,
            "interval_us": params.connection_interval.as_duration().as_micros() as u64,
            "peripheral_latency": params.peripheral_latency.events(),
            "supervision_timeout_ms": params.supervision_timeout.as_duration().as_millis() as u64,
            "tx_power_dbm": params.tx_power_dbm,
        }),
        RadioDecision::ChannelMap(map) => json!({"type": "channel_map", "channels": map.bits(), "used": map.used()}),
        RadioDecision::Advertising(a) => {
            let mode = match a.mode {
                AdvertisingMode::Burst => "burst",
                AdvertisingMode::Searching => "searching",
                AdvertisingMode::Stable => "stable",
            };
            json!({
                "type": "advertising",
                "mode": mode,
                "interval_us": a.interval.as_duration().as_micros() as u64,
                "on_ms": a.on.as_millis() as u64,
                "period_ms": a.period.as_millis() as u64,
            })
        }
        other => json!({"type": "radio", "debug": format!("{other:?}")}),
    }
}

fn core_event(e: &Event) -> Value {
    match e {
        Event::NeighbourUp { node, link } => json!({"type": "neighbour_up", "node": id(*node), "link": link.0}),
        Event::NeighbourDegraded { node, link, reason } => {
            let reason = match reason {
                Degradation::MissedHeartbeats => "missed_heartbeats",
                Degradation::PoorQuality => "poor_quality",
            };
            json!({"type": "neighbour_degraded", "node": id(*node), "link": link.0, "reason": reason})
        }
        Event::NeighbourRecovered { node, link } => {
            json!({"type": "neighbour_recovered", "node": id(*node), "link": link.0})
        }
        Event::NeighbourLost { node, link, reason } => {
            let reason = match reason {
                LossReason::MissedHeartbeats => "missed_heartbeats",
                LossReason::LinkDown => "link_down",
            };
            json!({"type": "neighbour_lost", "node": id(*node), "link": link.0, "reason": reason})
        }
        Event::CoordinatorElected { term, node } => {
            json!({"type": "coordinator_elected", "term": term, "node": id(*node)})
        }
        Event::CoordinatorLost { term, node } => json!({"type": "coordinator_lost", "term": term, "node": id(*node)}),
        Event::Partitioned { members, unreachable } => {
            json!({"type": "partitioned", "members": members, "unreachable": unreachable})
        }
        Event::Healed { members, rejoined } => json!({"type": "healed", "members": members, "rejoined": rejoined}),
        Event::Session { session, event } => session_event(*session, event),
        // Other events (routes, deliveries of acknowledged messages...) still get a line.
        other => json!({"type": "event", "debug": format!("{other:?}")}),
    }
}

fn delivery(d: &Delivery) -> Value {
    let destination = match d.destination {
        Destination::Broadcast => json!("broadcast"),
        Destination::Node(n) => id(n),
    };
    json!({
        "type": "delivery",
        "origin": id(d.origin),
        "destination": destination,
        "seq": d.seq,
        "hops": d.hops,
        "priority": d.priority.name(),
        "payload": String::from_utf8_lossy(&d.payload),
    })
}

fn epoch(e: &Epoch) -> Value {
    json!({"term": e.term, "sequencer": id(e.sequencer)})
}

/// A line for an entry of a session's ordered stream: `kind` `event` (with `submitter`,
/// `submit`, `payload`), `joined` (`player`, `info`) or `left` (`player`, `reason`).
fn sequenced(session: SessionId, e: &Entry) -> Value {
    let mut line = json!({
        "type": "sequenced",
        "session": session.0,
        "index": e.index,
        "epoch": epoch(&e.epoch),
        "prev": e.prev.as_ref().map(epoch),
    });
    let body = match &e.body {
        EntryBody::Event { submitter, submit, payload } => json!({
            "kind": "event",
            "submitter": id(*submitter),
            "submit": submit.0,
            "payload": String::from_utf8_lossy(payload),
        }),
        EntryBody::Joined { player, info } => {
            json!({"kind": "joined", "player": id(*player), "info": String::from_utf8_lossy(info)})
        }
        EntryBody::Left { player, reason } => {
            let reason = match reason {
                LeaveReason::Left => "left",
                LeaveReason::Lost => "lost",
            };
            json!({"kind": "left", "player": id(*player), "reason": reason})
        }
    };
    if let (Some(line), Value::Object(body)) = (line.as_object_mut(), body) {
        line.extend(body);
    }
    line
}

fn refuse_reason(r: &RefuseReason) -> &'static str {
    match r {
        RefuseReason::NotMember => "not_member",
        RefuseReason::TooLarge => "too_large",
        RefuseReason::Full => "full",
    }
}

/// A line for an event of a session this node plays: `event` names it (`sequenced`,
/// `submit_failed`, `join_failed`, `lost`, `rebased`, `joined`), its fields follow.
fn session_event(session: SessionId, e: &SessionEvent) -> Value {
    let fields = match e {
        SessionEvent::Sequenced { submit, index } => json!({"event": "sequenced", "submit": submit.0, "index": index}),
        SessionEvent::SubmitFailed { submit, reason } => {
            let reason = match reason {
                FailReason::Timeout => "timeout".to_owned(),
                FailReason::Refused(r) => format!("refused_{}", refuse_reason(r)),
                FailReason::Left => "left".to_owned(),
            };
            json!({"event": "submit_failed", "submit": submit.0, "reason": reason})
        }
        SessionEvent::JoinFailed { reason } => json!({"event": "join_failed", "reason": refuse_reason(reason)}),
        SessionEvent::Lost { index } => json!({"event": "lost", "index": index}),
        SessionEvent::Rebased { fork, undone, resubmitted } => {
            json!({"event": "rebased", "fork": fork, "undone": undone, "resubmitted": resubmitted})
        }
        SessionEvent::Joined { index } => json!({"event": "joined", "index": index}),
        SessionEvent::SnapshotWanted { after } => json!({"event": "snapshot_wanted", "after": after}),
        SessionEvent::NoSnapshot { from } => json!({"event": "no_snapshot", "from": from}),
        // `SessionEvent` grows with the core (snapshots): a later event still gets a line.
        #[allow(unreachable_patterns)]
        other => json!({"event": "other", "debug": format!("{other:?}")}),
    };
    let mut line = json!({"type": "session_event", "session": session.0});
    if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    line
}

/// A line for a metrics snapshot.
pub(crate) fn metrics(m: &Metrics) -> Value {
    let drops: serde_json::Map<String, Value> =
        m.drops.iter().filter(|(_, c)| *c > 0).map(|(r, c)| (r.name().to_owned(), json!(c))).collect();
    json!({
        "type": "metrics",
        "pdus_sent": m.pdus_sent,
        "pdus_received": m.pdus_received,
        "frames_originated": m.frames_originated,
        "relayed": m.relayed,
        "delivered": m.delivered,
        "neighbours_up": m.neighbours_up,
        "neighbours_lost": m.neighbours_lost,
        "drops": drops,
    })
}
