//! The scenarios. Each is generic over the runtime and takes the transport to use.

use core::time::Duration;
use std::collections::HashMap;

use blemesh_core::ble::{LinkParameters, PowerBudget, RadioDecision};
use blemesh_core::{Destination, Event, LinkId, Priority, Qos};

use super::{Net, TestMesh, TestRuntime, fast_config};
use crate::{DriverOptions, Error, MeshEvent, RecvError};

const LONG: Duration = Duration::from_secs(5);

/// How many times node `i` received each payload.
fn counts<R: TestRuntime>(mesh: &TestMesh<R>, i: usize) -> HashMap<Vec<u8>, usize> {
    let mut c = HashMap::new();
    for d in mesh.deliveries(i) {
        *c.entry(d.payload.to_vec()).or_insert(0) += 1;
    }
    c
}

/// A line of four forms: every node has exactly its topology neighbours up, and the
/// metrics snapshot agrees.
pub async fn mesh_forms<R: TestRuntime>(net: Net) {
    let mut mesh = TestMesh::<R>::line(net, 4);
    mesh.wait_formed().await;
    for i in 0..4 {
        let metrics = mesh.handle(i).metrics().await.expect("metrics");
        assert_eq!(metrics.neighbours_up as usize, mesh.expected_neighbours(i).len(), "node {i}");
        let links = mesh.handle(i).neighbours().await.expect("neighbours");
        assert_eq!(links.len(), mesh.expected_neighbours(i).len(), "node {i}: {links:?}");
        let ups = mesh.events(i).iter().filter(|e| matches!(e, MeshEvent::LinkUp { .. })).count();
        assert_eq!(ups, links.len(), "node {i}: one LinkUp per link");
    }
    mesh.shutdown().await;
}

/// Broadcasts from an end of a line of four reach every other node exactly once, several
/// hops away, and never come back to the sender.
pub async fn broadcast_delivered_once_everywhere<R: TestRuntime>(net: Net) {
    let mut mesh = TestMesh::<R>::line(net, 4);
    mesh.wait_formed().await;
    let payloads: Vec<Vec<u8>> = (0..5).map(|k| format!("round {k}").into_bytes()).collect();
    for p in &payloads {
        mesh.handle(0).broadcast(p.clone(), Qos::new(Priority::High)).await.expect("broadcast");
    }
    mesh.wait_for("every broadcast everywhere", LONG, |m| {
        (1..4).all(|i| m.deliveries(i).count() >= payloads.len())
    })
    .await;
    mesh.settle(Duration::from_millis(200)).await; // room for late duplicates
    for i in 1..4 {
        let c = counts(&mesh, i);
        for p in &payloads {
            assert_eq!(c.get(p), Some(&1), "node {i} got {:?} {:?} times", p, c.get(p));
        }
        let far = mesh.deliveries(i).next().expect("a delivery");
        assert_eq!(far.hops as usize, i, "node {i} is {i} hops away");
        assert_eq!(far.destination, Destination::Broadcast);
        assert_eq!(far.priority, Priority::High);
    }
    assert_eq!(mesh.deliveries(0).count(), 0, "the origin does not deliver to itself");
    let metrics = mesh.handle(3).metrics().await.expect("metrics");
    assert_eq!(metrics.delivered, payloads.len() as u64);
    mesh.shutdown().await;
}

/// Unicast to a direct neighbour and to a node three hops away arrives once, and only
/// there.
pub async fn unicast_delivered_to_destination_only<R: TestRuntime>(net: Net) {
    let mut mesh = TestMesh::<R>::line(net, 4);
    mesh.wait_formed().await;
    let (near, far) = (mesh.id(1), mesh.id(3));
    mesh.handle(0).send(near, &b"to the neighbour"[..], Qos::default()).await.expect("send near");
    mesh.handle(0).send(far, &b"to the far end"[..], Qos::default()).await.expect("send far");
    mesh.wait_for("both unicasts", LONG, |m| m.deliveries(1).count() == 1 && m.deliveries(3).count() == 1).await;
    mesh.settle(Duration::from_millis(200)).await;
    let got = |i: usize| mesh.deliveries(i).map(|d| d.payload.to_vec()).collect::<Vec<_>>();
    assert_eq!(got(1), vec![b"to the neighbour".to_vec()]);
    assert_eq!(got(3), vec![b"to the far end".to_vec()]);
    assert!(got(2).is_empty() && got(0).is_empty(), "only destinations deliver");
    let d = mesh.deliveries(3).next().expect("delivery");
    assert_eq!((d.origin, d.destination, d.hops), (mesh.id(0), Destination::Node(far), 3));
    // Sending to oneself is refused by the node, and the refusal reaches the caller.
    let own = mesh.handle(0).send(mesh.id(0), &b"me"[..], Qos::default()).await;
    assert!(matches!(own, Err(Error::Core(blemesh_core::Error::InvalidDestination(_)))), "{own:?}");
    mesh.shutdown().await;
}

/// Messages sent just before a shutdown are all written out before the driver stops;
/// afterwards requests fail with `Shutdown` and the event stream ends.
pub async fn shutdown_flushes_queued_messages<R: TestRuntime>(net: Net) {
    let mut mesh = TestMesh::<R>::line(net, 2);
    mesh.wait_formed().await;
    let to = mesh.id(1);
    let n = 40;
    let handle = mesh.handle(0).clone();
    let mut events = handle.subscribe();
    // Queue every send without waiting for the verdicts, then shut down at once.
    let replies: Vec<_> =
        (0..n).map(|k| handle.send(to, format!("last words {k}").into_bytes(), Qos::default())).collect();
    handle.shutdown().await;
    for r in replies {
        r.await.expect("queued before the shutdown, so carried out");
    }
    mesh.wait_for("every message flushed before shutdown", LONG, |m| m.deliveries(1).count() >= n).await;
    assert_eq!(counts(&mesh, 1).len(), n, "each message once");
    assert!(handle.is_closed());
    let after = handle.broadcast(&b"too late"[..], Qos::default()).await;
    assert!(matches!(after, Err(Error::Shutdown)), "{after:?}");
    loop {
        match events.recv().await {
            Err(RecvError::Closed) => break,
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
    mesh.kill(0).await; // already stopped: returns at once
    mesh.shutdown().await;
}

/// A full command queue is reported at once with `CommandQueueFull`, and the driver keeps
/// working afterwards.
pub async fn full_command_queue_is_reported<R: TestRuntime>(net: Net) {
    let options = DriverOptions::default().with_command_queue(1);
    let mut mesh = TestMesh::<R>::new(net, 2, &[(0, 1)], options);
    mesh.wait_formed().await;
    let handle = mesh.handle(0);
    let to = mesh.id(1);
    // Requests are queued when made: making many without yielding overflows a queue of 1.
    let replies: Vec<_> = (0..2000).map(|_| handle.send(to, vec![7u8; 64], Qos::default())).collect();
    let mut full = 0;
    let mut ok = 0;
    for r in replies {
        match r.await {
            Ok(_) => ok += 1,
            Err(e @ Error::CommandQueueFull { capacity: 1 }) => {
                assert!(e.is_queue_full());
                assert!(e.to_string().contains("queue is full"), "{e}");
                full += 1;
            }
            // The node's own transmit queue may fill too: also a queue-full error.
            Err(e) if e.is_queue_full() => full += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(ok >= 1, "the first request fits");
    assert!(full >= 1, "no request was refused ({ok} accepted)");
    mesh.handle(0).send(to, &b"after the storm"[..], Qos::default()).await.expect("works again");
    mesh.wait_for("the last message", LONG, |m| {
        m.deliveries(1).any(|d| d.payload.as_ref() == b"after the storm")
    })
    .await;
    mesh.shutdown().await;
}

/// In a ring of five, the neighbours of a stopped node report it lost, and messages between
/// them still arrive, the long way round.
pub async fn lost_neighbour_is_detected_and_avoided<R: TestRuntime>(net: Net) {
    let mut mesh = TestMesh::<R>::ring(net, 5);
    mesh.wait_formed().await;
    mesh.kill(2).await;
    let dead = mesh.id(2);
    mesh.wait_for("nodes 1 and 3 to lose node 2", LONG, |m| {
        [1, 3].iter().all(|&i| {
            m.events(i).iter().any(|e| matches!(e, MeshEvent::Core(Event::NeighbourLost { node, .. }) if *node == dead))
        })
    })
    .await;
    mesh.handle(1).send(mesh.id(3), &b"around the gap"[..], Qos::default()).await.expect("send");
    mesh.handle(3).broadcast(&b"still here"[..], Qos::default()).await.expect("broadcast");
    mesh.wait_for("delivery around the dead node", LONG, |m| {
        m.deliveries(3).any(|d| d.payload.as_ref() == b"around the gap")
            && [0, 1, 4].iter().all(|&i| m.deliveries(i).any(|d| d.payload.as_ref() == b"still here"))
    })
    .await;
    let d = mesh.deliveries(3).find(|d| d.payload.as_ref() == b"around the gap").expect("delivery");
    assert_eq!(d.hops, 3, "1 -> 0 -> 4 -> 3");
    mesh.shutdown().await;
}

/// The latest connection parameters node `i` published for each of its links.
fn published_parameters<R: TestRuntime>(mesh: &TestMesh<R>, i: usize) -> HashMap<LinkId, LinkParameters> {
    let mut latest = HashMap::new();
    for e in mesh.events(i) {
        if let MeshEvent::Radio(RadioDecision::LinkParameters { link, params }) = e {
            latest.insert(*link, *params);
        }
    }
    latest
}

/// The nodes' radio decisions reach the transport. On the in-memory hub, every link carries
/// the parameters its driver last published, and latency-sensitive traffic shortens the
/// connection interval of each link it crosses. On UDP (no radio) the decisions are still
/// published on the event stream.
pub async fn radio_decisions_reach_the_transport<R: TestRuntime>(net: Net) {
    let mut mesh = TestMesh::<R>::line(net, 3);
    mesh.wait_formed().await;
    let mut links = Vec::new(); // (node, peer node, the node's link to it)
    for i in 0..3 {
        for n in mesh.handle(i).neighbours().await.expect("neighbours") {
            let j = (0..3).find(|&j| mesh.id(j) == n.node).expect("a mesh node");
            links.push((i, j, n.link));
        }
    }
    assert_eq!(links.len(), 4, "{links:?}");
    let Some((hub, eps)) = mesh.memory().map(|(h, e)| (h.clone(), e.to_vec())) else {
        mesh.wait_for("radio decisions published", LONG, |m| {
            links.iter().all(|(i, _, link)| published_parameters(m, *i).contains_key(link))
                && (0..3).all(|i| m.events(i).iter().any(|e| matches!(e, MeshEvent::Radio(RadioDecision::Advertising(_)))))
        })
        .await;
        mesh.shutdown().await;
        return;
    };
    let applied_is_published = |m: &TestMesh<R>| {
        links.iter().all(|&(i, j, link)| {
            let applied = hub.link_parameters(eps[i], eps[j]);
            applied.is_some() && applied == published_parameters(m, i).get(&link).copied()
        })
    };
    mesh.wait_for("published parameters applied to every link", LONG, applied_is_published).await;
    for (i, ep) in eps.iter().enumerate() {
        assert!(hub.channel_map(*ep).is_some() && hub.advertising(*ep).is_some(), "node {i}");
    }
    let interval = |a: usize, b: usize| hub.link_parameters(eps[a], eps[b]).map(|p| p.connection_interval.as_duration());
    let fastest = fast_config(0).ble.profile(PowerBudget::Balanced).min_interval;
    assert!(interval(0, 1) > Some(fastest), "no priority traffic yet: {:?}", interval(0, 1));
    mesh.handle(0).send(mesh.id(2), &b"fire!"[..], Qos::new(Priority::Critical)).await.expect("send");
    mesh.wait_for("the shortest interval on both hops", LONG, |m| {
        interval(0, 1) == Some(fastest) && interval(1, 2) == Some(fastest) && applied_is_published(m)
    })
    .await;
    mesh.shutdown().await;
}
