//! The JSON lines `blemesh-node` prints: one object per line, with a `"type"` field.

use blemesh_core::ble::{AdvertisingMode, RadioDecision};
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
