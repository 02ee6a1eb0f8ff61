//! The README's usage example, kept compiling by `cargo test` (examples build) and run with
//! `cargo run -p blemesh-tokio --example readme`.
#![allow(clippy::print_stdout)] // an example talks to its user

use blemesh_core::{Config, NodeId, Priority, Qos};
use blemesh_tokio::{MemoryHub, MeshEvent, spawn};

#[tokio::main]
async fn main() -> Result<(), blemesh_tokio::Error> {
    // Two players joined by an in-memory link (use `blemesh_tokio::udp::bind` for UDP).
    let hub = MemoryHub::new();
    let (a, ta) = hub.endpoint(256);
    let (b, tb) = hub.endpoint(256);
    let (alice, mut alice_events) = spawn(Config::new(NodeId(1), 1), ta)?;
    let (_bob, mut bob_events) = spawn(Config::new(NodeId(2), 2), tb)?;
    hub.connect(a, b, 185);
    // Wait until the handshake confirmed the link, then play.
    while !matches!(alice_events.recv().await, Ok(MeshEvent::Core(blemesh_core::Event::NeighbourUp { .. }))) {}
    alice.send(NodeId(2), &b"move e2e4"[..], Qos::new(Priority::High)).await?;
    let delivery = bob_events.next_delivery().await;
    println!("bob got {delivery:?}");
    alice.shutdown().await;
    Ok(())
}
