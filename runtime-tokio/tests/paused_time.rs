//! The tokio driver on paused time: it sleeps until the node's deadlines on tokio's clock,
//! so failure detection happens at the virtual instants the configuration says.

use std::time::Duration;

use blemesh_core::{Config, Event, LossReason, NodeId};
use blemesh_tokio::{MemoryHub, MeshEvent, spawn};

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn neighbour_loss_follows_virtual_time() {
    let hub = MemoryHub::new();
    let (a, ta) = hub.endpoint(64);
    let (b, tb) = hub.endpoint(64);
    let config = |id: u64| {
        let mut c = Config::new(NodeId(id), id);
        c.heartbeat_interval = Duration::from_secs(1);
        c.hello_interval = Duration::from_millis(100);
        c.heartbeat_jitter = Duration::from_millis(50);
        c.suspect_after_missed = 2;
        c.lost_after_missed = 4;
        c
    };
    let (alice, mut events) = spawn(config(1), ta).expect("spawn");
    let (bob, _) = spawn(config(2), tb).expect("spawn");
    hub.connect(a, b, 185);
    let start = tokio::time::Instant::now();
    loop {
        if let MeshEvent::Core(Event::NeighbourUp { node, .. }) = events.recv().await.expect("event") {
            assert_eq!(node, NodeId(2));
            break;
        }
    }
    assert!(start.elapsed() < Duration::from_secs(1), "the handshake runs on hello timers");
    hub.crash(b); // bob's frames stop, nobody is told
    let silent = tokio::time::Instant::now();
    let lost = loop {
        if let MeshEvent::Core(Event::NeighbourLost { node, reason, .. }) = events.recv().await.expect("event") {
            assert_eq!((node, reason), (NodeId(2), LossReason::MissedHeartbeats));
            break silent.elapsed();
        }
    };
    // Lost after 4 silent heartbeat intervals of 1 s (counted from the last heartbeat heard).
    assert!(lost > Duration::from_secs(2) && lost <= Duration::from_secs(5), "lost after {lost:?}");
    alice.shutdown().await;
    bob.shutdown().await;
}
