//! Three players on one machine, each a blemesh node over UDP on 127.0.0.1, in a line
//! (Alice - Bob - Carol, so Alice and Carol only hear each other through Bob).
//!
//! Each player broadcasts its position a few times a second; Alice also sends Carol a
//! private "trade offer" by unicast. Every delivery is printed with the hops it took.
//!
//! ```text
//! cargo run -p blemesh-tokio --example udp_game
//! ```
#![allow(clippy::print_stdout)] // an example talks to its reader

use std::time::Duration;

use blemesh_core::{Config, Event, NodeId, Priority, Qos};
use blemesh_tokio::{Handle, MeshEvent, Subscription, UdpConfig};

const PLAYERS: [&str; 3] = ["alice", "bob", "carol"];

fn config(i: usize) -> Config {
    let mut c = Config::new(NodeId(i as u64 + 1), 42 + i as u64);
    c.heartbeat_interval = Duration::from_millis(100);
    c.hello_interval = Duration::from_millis(20);
    c.heartbeat_jitter = Duration::from_millis(10);
    c
}

/// Prints what a player sees until its driver stops.
async fn watch(name: &'static str, mut events: Subscription) {
    while let Ok(event) = events.recv().await {
        match event {
            MeshEvent::Delivery(d) => {
                let from = PLAYERS[(d.origin.0 - 1) as usize];
                let text = String::from_utf8_lossy(&d.payload);
                println!("{name:>5} <- {from:<5} ({} hop{}): {text}", d.hops, if d.hops == 1 { "" } else { "s" });
            }
            MeshEvent::Core(Event::NeighbourUp { node, .. }) => {
                println!("{name:>5}: now linked to {}", PLAYERS[(node.0 - 1) as usize]);
            }
            _ => {}
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), blemesh_tokio::Error> {
    // Bind in order; each player knows the previous one's address.
    let mut players: Vec<Handle> = Vec::new();
    let mut previous = None;
    for (i, name) in PLAYERS.iter().enumerate() {
        let mut udp = UdpConfig::localhost();
        if let Some(addr) = previous {
            udp = udp.with_peer(addr);
        }
        let (transport, addr) = blemesh_tokio::udp::bind(udp)?;
        println!("{name:>5} listens on {addr}");
        let (handle, events) = blemesh_tokio::spawn(config(i), transport)?;
        tokio::spawn(watch(name, events));
        players.push(handle);
        previous = Some(addr);
    }

    // Let the neighbours find each other.
    tokio::time::sleep(Duration::from_millis(300)).await;

    for round in 1..=3 {
        for (i, player) in players.iter().enumerate() {
            let position = format!("{} at ({}, {})", PLAYERS[i], round * 10 + i, round * 3);
            player.broadcast(position, Qos::new(Priority::High)).await?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    players[0].send(NodeId(3), "trade offer: 3 wood for 1 ore", Qos::new(Priority::Critical)).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;

    for player in &players {
        let m = player.metrics().await?;
        println!("{:>5}: sent {} PDUs, relayed {}, delivered {}", PLAYERS[(player.node_id().0 - 1) as usize], m.pdus_sent, m.relayed, m.delivered);
    }
    for player in &players {
        player.shutdown().await;
    }
    Ok(())
}
