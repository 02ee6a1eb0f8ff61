//! Export of the simulated mesh as a NetJSON NetworkGraph (<https://netjson.org>, RFC draft
//! "NetJSON: data interchange format for networks", NetworkGraph object).
//!
//! Nodes carry their position; links carry `cost` = the core's ETX estimate at the central
//! end (1.0 when the link is not confirmed yet) and, as properties, the mean RSSI, the
//! radio model's packet success probability (`quality`) and the MTU.

use blemesh_core::LinkId;
use serde_json::{Value, json};

use crate::engine::Engine;

/// One link of the graph, as the HTML report also draws it.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphLink {
    /// Device indices.
    pub a: u32,
    /// Device indices.
    pub b: u32,
    /// ETX at the central end.
    pub cost: f64,
    /// Mean RSSI, dBm.
    pub rssi: f64,
    /// Packet success probability, 0..=1.
    pub quality: f64,
    /// Whether both ends confirmed the neighbour.
    pub confirmed: bool,
}

/// The links up now.
pub fn graph_links(e: &Engine) -> Vec<GraphLink> {
    let radio = &e.scenario.radio;
    e.links
        .iter()
        .enumerate()
        .filter(|(_, l)| l.up)
        .map(|(i, l)| {
            let state = e.devices[l.a as usize]
                .node
                .as_ref()
                .and_then(|n| n.neighbours().find(|s| s.link == LinkId(i as u32)))
                .map(|s| (s.is_confirmed(), s.estimator.etx()));
            let confirmed = state.is_some_and(|(confirmed, _)| confirmed);
            let cost = state.filter(|(confirmed, _)| *confirmed).map_or(1.0, |(_, etx)| f64::from(etx));
            GraphLink {
                a: l.a,
                b: l.b,
                cost: (cost * 1000.0).round() / 1000.0,
                rssi: (l.rssi * 10.0).round() / 10.0,
                quality: ((1.0 - radio.packet_error_rate(l.rssi)) * 1000.0).round() / 1000.0,
                confirmed,
            }
        })
        .collect()
}

/// The NetworkGraph of the mesh as it is now.
pub fn network_graph(e: &Engine) -> Value {
    let nodes: Vec<Value> = e
        .devices
        .iter()
        .map(|d| {
            json!({
                "id": d.id.to_string(),
                "label": d.id.0.to_string(),
                "properties": { "x": d.pos.x, "y": d.pos.y, "alive": d.alive() }
            })
        })
        .collect();
    let links: Vec<Value> = graph_links(e)
        .iter()
        .map(|l| {
            json!({
                "source": e.devices[l.a as usize].id.to_string(),
                "target": e.devices[l.b as usize].id.to_string(),
                "cost": l.cost,
                "properties": { "rssi_dbm": l.rssi, "quality": l.quality, "confirmed": l.confirmed }
            })
        })
        .collect();
    json!({
        "type": "NetworkGraph",
        "protocol": "blemesh",
        "version": env!("CARGO_PKG_VERSION"),
        "metric": "etx",
        "label": format!("{} (seed {}) at {} s", e.scenario.name, e.scenario.seed, e.now as f64 / 1e6),
        "nodes": nodes,
        "links": links,
    })
}
