//! # blemesh-ble
//!
//! The BLE transports of the blemesh drivers, behind the [`blemesh_runtime::Transport`]
//! seam (links up and down, one PDU per frame, link-quality reports):
//!
//! * [`central`]: scans for the blemesh service and connects, over `btleplug` (BlueZ,
//!   CoreBluetooth, WinRT);
//! * [`peripheral`]: advertises the service and serves its GATT characteristics, through a
//!   [`PeripheralBackend`] per platform; on Linux [`BluezPeripheral`] (BlueZ via `bluer`);
//! * [`gatt`]: the GATT layout both sides share (service and characteristic UUIDs, MTU);
//! * [`BleThread`]: a tokio runtime thread hosting BLE objects for non-tokio drivers.
//!
//! Both back ends need a tokio runtime (btleplug's and bluer's objects must live and be
//! dropped in one): the tokio driver calls [`central::start`] / [`peripheral::start`]
//! directly, the async-std driver goes through [`BleThread`].
//!
//! Without Bluetooth, starting fails with an error that says what is missing:
//! [`BleError::NoDbus`], [`BleError::NoBluez`], [`BleError::NoAdapter`].
//!
//! `docs/BLE.md` describes the GATT layout and how the mock-BlueZ tests run; the
//! `mock-bluez` feature holds their fixture (module `mock`).

mod bridge;
pub mod central;
mod error;
pub mod gatt;
mod links;
pub mod peripheral;
mod stats;

#[cfg(all(feature = "mock-bluez", target_os = "linux"))]
pub mod mock;

pub use bridge::BleThread;
pub use central::CentralConfig;
pub use error::BleError;
pub use links::{LinkHost, OpenLink, Pdu};
#[cfg(target_os = "linux")]
pub use peripheral::BluezPeripheral;
pub use peripheral::{PeripheralBackend, PeripheralConfig};
pub use stats::{BleDrop, BleStats};
