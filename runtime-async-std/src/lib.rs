//! # blemesh-async-std
//!
//! The async-std driver of blemesh: the same application API as `blemesh-tokio` (the
//! [`Handle`], events, errors and transports all come from [`blemesh_runtime`]), with the
//! driver loop and the UDP reader written for async-std. async-std is discontinued
//! upstream, so this crate stays a thin loop over the shared [`blemesh_runtime::DriverCore`].
//!
//! * [`spawn`], [`spawn_with`]: start a driver ([`driver`]).
//! * [`udp::bind`]: a UDP transport on loopback (in-memory: [`MemoryHub`]).
//! * `ble::central`, `ble::peripheral` (feature `ble`): BLE transports on a tokio thread.

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
