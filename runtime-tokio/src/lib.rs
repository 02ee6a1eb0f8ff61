//! # blemesh-tokio
//!
//! The tokio driver of blemesh. One task owns a [`blemesh_core::Node`] and binds it to
//! tokio's timers and to a transport; the application talks to it through a cloneable
//! [`Handle`].
//!
//! ```no_run
//! use blemesh_core::{Config, NodeId, Qos};
//! use blemesh_tokio::{MemoryHub, spawn};
//!
//! # async fn demo() -> Result<(), blemesh_tokio::Error> {
//! let hub = MemoryHub::new();
//! let (a, ta) = hub.endpoint(256);
//! let (b, tb) = hub.endpoint(256);
//! let (alice, _) = spawn(Config::new(NodeId(1), 1), ta)?;
//! let (_bob, mut bob_events) = spawn(Config::new(NodeId(2), 2), tb)?;
//! hub.connect(a, b, 185);
//! // ... once the neighbours are up (see the event stream):
//! alice.broadcast(&b"move e2e4"[..], Qos::default()).await?;
//! let got = bob_events.next_delivery().await;
//! alice.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! * [`spawn`], [`spawn_with`]: start a driver ([`driver`] describes its loop).
//! * Game sessions: [`Handle::join_session`], [`Handle::submit`], and each session's ordered
//!   stream of entries and events, [`Handle::session_events`] ([`SessionUpdate`]).
//! * [`udp::bind`]: a UDP transport on loopback (in-memory: [`MemoryHub`]).
//! * `ble::central`, `ble::peripheral` (feature `ble`): BLE transports (`docs/BLE.md`).
//! * The `blemesh-node` binary (feature `cli`) runs one node over UDP and prints JSON lines.
//!
//! The handle, events, errors and transports are those of [`blemesh_runtime`], re-exported
//! here, so the async-std driver offers the very same API.

#[cfg(feature = "ble")]
pub mod ble;
pub mod driver;
pub mod udp;

pub use blemesh_runtime::udp::UdpConfig;
pub use blemesh_runtime::{
    Delivery, DriverOptions, Endpoint, Error, Handle, LinkEvent, LinkSink, MemoryHub, MeshEvent, NeighbourInfo,
    RecvError, Reply, SessionStream, SessionUpdate, Subscription, TransmitError, Transport,
};
pub use driver::{spawn, spawn_with};
