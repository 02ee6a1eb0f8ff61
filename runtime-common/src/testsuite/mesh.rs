//! A small mesh of drivers for the behaviour tests: topology set-up on either transport,
//! event recording and bounded waits.

use core::marker::PhantomData;
use core::time::Duration;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Instant;

use blemesh_core::{Config, Event, NodeId};

use super::TestRuntime;
use crate::udp::UdpConfig;
use crate::{Delivery, DriverOptions, Endpoint, Handle, MemoryHub, MeshEvent, RecvError, Subscription};

/// The transport a scenario runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Net {
    /// [`MemoryHub`] links.
    Memory,
    /// UDP sockets on 127.0.0.1.
    Udp,
}

/// MTU of in-memory links: a BLE 4.2 data length extension (251 - 4 L2CAP - 3 ATT - ...).
const MEMORY_MTU: u16 = 185;

/// A node configuration with fast timers: heartbeats every 100 ms, so a silent neighbour is
/// lost after about 400 ms.
pub fn fast_config(index: usize) -> Config {
    let id = index as u64 + 1;
    let mut c = Config::new(NodeId(id), 0x5eed_0000 + id);
    c.heartbeat_interval = Duration::from_millis(100);
    c.hello_interval = Duration::from_millis(20);
    c.heartbeat_jitter = Duration::from_millis(10);
    c.relay_jitter = Duration::from_millis(5);
    c
}

/// Drivers joined by a topology, with everything each one published so far.
#[derive(Debug)]
pub struct TestMesh<R> {
    /// The transport used.
    pub net: Net,
    handles: Vec<Handle>,
    subs: Vec<Subscription>,
    events: Vec<Vec<MeshEvent>>,
    edges: Vec<(usize, usize)>,
    alive: Vec<bool>,
    /// The hub and each node's endpoint, on [`Net::Memory`].
    hub: Option<(MemoryHub, Vec<Endpoint>)>,
    _runtime: PhantomData<R>,
}

impl<R: TestRuntime> TestMesh<R> {
    /// `n` nodes (ids 1..=n, see [`fast_config`]) joined by `edges` of node indices.
    pub fn new(net: Net, n: usize, edges: &[(usize, usize)], options: DriverOptions) -> Self {
        let mut handles = Vec::new();
        let mut subs = Vec::new();
        let mut memory = None;
        match net {
            Net::Memory => {
                let hub = MemoryHub::new();
                let mut endpoints = Vec::new();
                for i in 0..n {
                    let (ep, transport) = hub.endpoint(1024);
                    let (h, s) = R::spawn(fast_config(i), transport, options.clone()).expect("spawn");
                    endpoints.push(ep);
                    handles.push(h);
                    subs.push(s);
                }
                for &(a, b) in edges {
                    hub.connect(endpoints[a], endpoints[b], MEMORY_MTU);
                }
                memory = Some((hub, endpoints));
            }
            Net::Udp => {
                // The later node of each edge is configured with the earlier one's address;
                // the earlier one links back when it hears it.
                let mut addrs: Vec<SocketAddr> = Vec::new();
                for i in 0..n {
                    let mut udp = UdpConfig::localhost();
                    for &(a, b) in edges {
                        let (lo, hi) = (a.min(b), a.max(b));
                        if hi == i {
                            udp = udp.with_peer(addrs[lo]);
                        }
                    }
                    let (transport, addr) = R::udp(udp).expect("bind udp");
                    let (h, s) = R::spawn(fast_config(i), transport, options.clone()).expect("spawn");
                    addrs.push(addr);
                    handles.push(h);
                    subs.push(s);
                }
            }
        }
        TestMesh {
            net,
            handles,
            subs,
            events: vec![Vec::new(); n],
            edges: edges.to_vec(),
            alive: vec![true; n],
            hub: memory,
            _runtime: PhantomData,
        }
    }

    /// The in-memory hub and the endpoint of each node (`None` on [`Net::Udp`]).
    pub fn memory(&self) -> Option<(&MemoryHub, &[Endpoint])> {
        self.hub.as_ref().map(|(hub, eps)| (hub, eps.as_slice()))
    }

    /// A line 0 - 1 - ... - n-1.
    pub fn line(net: Net, n: usize) -> Self {
        let edges: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
        TestMesh::new(net, n, &edges, DriverOptions::default())
    }

    /// A ring 0 - 1 - ... - n-1 - 0.
    pub fn ring(net: Net, n: usize) -> Self {
        let edges: Vec<_> = (0..n).map(|i| (i, (i + 1) % n)).collect();
        TestMesh::new(net, n, &edges, DriverOptions::default())
    }

    /// The id of node `i`.
    pub fn id(&self, i: usize) -> NodeId {
        NodeId(i as u64 + 1)
    }

    /// The handle of node `i`.
    pub fn handle(&self, i: usize) -> &Handle {
        &self.handles[i]
    }

    /// Everything node `i` published so far (after [`TestMesh::pump`]).
    pub fn events(&self, i: usize) -> &[MeshEvent] {
        &self.events[i]
    }

    /// The payloads node `i` received so far.
    pub fn deliveries(&self, i: usize) -> impl Iterator<Item = &Delivery> {
        self.events[i].iter().filter_map(MeshEvent::as_delivery)
    }

    /// The neighbours node `i` considers up, from its events.
    pub fn neighbours_up(&self, i: usize) -> BTreeSet<NodeId> {
        let mut up = BTreeSet::new();
        for e in &self.events[i] {
            match e {
                MeshEvent::Core(Event::NeighbourUp { node, .. }) => {
                    up.insert(*node);
                }
                MeshEvent::Core(Event::NeighbourLost { node, .. }) => {
                    up.remove(node);
                }
                _ => {}
            }
        }
        up
    }

    /// The neighbours node `i` has in the topology, among nodes still alive.
    pub fn expected_neighbours(&self, i: usize) -> BTreeSet<NodeId> {
        let other = |&(a, b): &(usize, usize)| if a == i { Some(b) } else if b == i { Some(a) } else { None };
        self.edges.iter().filter_map(other).filter(|j| self.alive[*j]).map(|j| self.id(j)).collect()
    }

    /// Moves every event published so far into the record.
    pub fn pump(&mut self) {
        for (i, sub) in self.subs.iter_mut().enumerate() {
            loop {
                match sub.try_recv() {
                    Ok(Some(e)) => self.events[i].push(e),
                    Ok(None) | Err(RecvError::Closed) => break,
                    Err(RecvError::Lagged { missed }) => panic!("node {i} lagged by {missed} events"),
                }
            }
        }
    }

    /// Waits until `done` holds, pumping events; panics after `timeout` with the record.
    pub async fn wait_for(&mut self, what: &str, timeout: Duration, done: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        loop {
            self.pump();
            if done(self) {
                return;
            }
            if start.elapsed() > timeout {
                for (i, e) in self.events.iter().enumerate() {
                    eprintln!("node {i}: {e:?}");
                }
                panic!("{:?}: timed out after {timeout:?} waiting for {what}", self.net);
            }
            R::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until every live node has exactly its topology neighbours up.
    pub async fn wait_formed(&mut self) {
        self.wait_for("the mesh to form", Duration::from_secs(5), |m| {
            (0..m.handles.len()).filter(|i| m.alive[*i]).all(|i| m.neighbours_up(i) == m.expected_neighbours(i))
        })
        .await;
    }

    /// Waits `d`, then records what arrived meanwhile.
    pub async fn settle(&mut self, d: Duration) {
        R::sleep(d).await;
        self.pump();
    }

    /// Shuts node `i` down; its neighbours only notice its silence.
    pub async fn kill(&mut self, i: usize) {
        self.handles[i].shutdown().await;
        self.alive[i] = false;
    }

    /// Shuts every node down.
    pub async fn shutdown(mut self) {
        for i in 0..self.handles.len() {
            if self.alive[i] {
                self.kill(i).await;
            }
        }
    }
}
