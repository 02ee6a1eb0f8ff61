//! # blemesh-core
//!
//! The sans-IO state machine of blemesh, a Bluetooth Low Energy mesh for peer-to-peer games.
//! `#![no_std]` + `alloc`: it never reads a clock, never does I/O and never draws randomness
//! of its own. Time comes in with every input, randomness from [`Config::seed`]; bytes go in
//! and out through method calls. The same inputs always produce the same outputs.
//!
//! ## The drain contract
//!
//! A driver (the tokio or async-std runtime, the simulator, a test) owns one [`Node`] and
//! repeats:
//!
//! 1. **Feed one input**, passing the current monotonic time `now`: a link came up or down
//!    ([`Node::handle_link_up`], [`Node::handle_link_down`]), its radio changed
//!    ([`Node::handle_link_report`]), bytes arrived ([`Node::handle_receive`]), the deadline
//!    passed ([`Node::handle_timeout`]), or the application sends ([`Node::send`],
//!    [`Node::broadcast`]).
//! 2. **Drain outputs**: call [`Node::poll_output`] until it returns [`Output::Timeout`].
//!    Before that it yields, in this order, [`Output::Event`]s, [`Output::Radio`] decisions
//!    for the runtime to apply, [`Output::Deliver`]ies for the application and
//!    [`Output::Transmit`]s to write to links. Slices in an output borrow
//!    the node until the next poll: write or copy them first.
//! 3. **Wait** until the instant of that `Timeout` or the next input, whichever comes first,
//!    and go back to 1. When the instant is reached, the input is [`Node::handle_timeout`].
//!
//! Rules: `now` never goes backwards between inputs (a regressing `now` is rejected with
//! [`Error::TimeWentBackwards`], and the node is unchanged). Draining after every input keeps
//! the bounded queues from filling; when a queue is full, new items are dropped and counted
//! rather than growing memory. Input from peers never produces an error or a panic: bad
//! bytes are dropped with a [`DropReason`] counted in [`Metrics`]. Errors are for API misuse.
//!
//! ## Example
//!
//! Two nodes joined by an in-memory link: they confirm each other, then one broadcasts.
//!
//! ```
//! use blemesh_core::{Config, Instant, LinkId, LinkReport, Node, NodeId, Output, Qos};
//! use core::time::Duration;
//!
//! let t0 = Instant::ZERO;
//! let mut nodes = [
//!     Node::new(Config::new(NodeId(1), 11), t0).unwrap(),
//!     Node::new(Config::new(NodeId(2), 22), t0).unwrap(),
//! ];
//! for n in &mut nodes {
//!     n.handle_link_up(t0, LinkId(0), LinkReport::new(185)).unwrap();
//! }
//! let mut received = Vec::new();
//! let mut sent = false;
//! let mut now = t0;
//! // One driver loop for both nodes: drain each, carry transmits to the other side, then
//! // advance time to the earliest deadline.
//! while now < Instant::from_secs(1) {
//!     let mut deadline = Instant::MAX;
//!     let mut in_flight = Vec::new();
//!     for (i, node) in nodes.iter_mut().enumerate() {
//!         loop {
//!             match node.poll_output() {
//!                 Output::Transmit(t) => in_flight.push((1 - i, t.bytes.to_vec())),
//!                 Output::Deliver(d) => received.push((i, d.payload.to_vec())),
//!                 Output::Event(e) => println!("node {i}: {e:?}"),
//!                 Output::Timeout(at) => {
//!                     deadline = deadline.min(at);
//!                     break;
//!                 }
//!                 _ => {}
//!             }
//!         }
//!     }
//!     if !in_flight.is_empty() {
//!         // Deliver after 5 ms of "air time".
//!         now = now + Duration::from_millis(5);
//!         for (to, bytes) in in_flight {
//!             nodes[to].handle_receive(now, LinkId(0), &bytes).unwrap();
//!         }
//!         continue;
//!     }
//!     now = now.max(deadline);
//!     for node in &mut nodes {
//!         node.handle_timeout(now).unwrap();
//!     }
//!     if now >= Instant::from_millis(200) && !sent {
//!         nodes[0].broadcast(now, b"hello mesh", Qos::default()).unwrap();
//!         sent = true;
//!     }
//! }
//! assert_eq!(received, vec![(1, b"hello mesh".to_vec())]);
//! ```
//!
//! ## Modules
//!
//! * [`wire`]: frames, message bodies, fragmentation and reassembly (`docs/PROTOCOL.md`).
//! * [`neighbour`]: handshake, heartbeats, link quality, failure detection, node registry.
//! * [`flood`]: sequence windows, duplicate cache, jittered and suppressible relays.
//! * [`ble`]: radio decisions (connection parameters, channel map, advertising) for the
//!   runtime to apply.
//! * [`Node`]: ties them together behind the drain contract.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(all(test, feature = "std"))]
mod alloc_count;
pub mod ble;
mod config;
pub mod election;
mod error;
pub mod flow;
pub mod flood;
#[doc(hidden)]
pub mod heap_parts;
mod id;
mod lru;
mod metrics;
mod mix;
pub mod neighbour;
mod node;
mod output;
mod qos;
mod report;
mod time;
pub mod partition;
pub mod routing;
pub mod security;
pub mod session;
pub mod wire;

pub use config::{Config, MAX_RELAY_JITTER, MAX_RTO_BACKOFF_SHIFT, MAX_SEQ_WINDOW};
pub use error::{ConfigError, Error, Queue};
pub use id::{Destination, LinkId, MessageId, NodeId};
pub use metrics::{DeliveryStats, DropCounts, DropReason, Metrics};
pub use output::{Degradation, Delivery, Event, LossReason, Output, Transmit};
pub use neighbour::{Capabilities, LinkStatus, NodeInfo, NodeStatus};
pub use node::{ADVERT_JUMP, Candidate, Node, Occupancy, RESTART_SLACK, RESUME_GAP, RouteInfo, SEQUENCE_JUMP, Security};
pub use qos::{Priority, Qos};
pub use report::LinkReport;
pub use time::Instant;
