//! BLE transports for the tokio driver (feature `ble`, on by default): the back ends of
//! [`blemesh_ble`] run directly on the caller's tokio runtime.
//!
//! ```no_run
//! use blemesh_core::{Config, NodeId};
//! use blemesh_tokio::{ble, spawn};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // Connect to blemesh peripherals around; `ble::peripheral` serves centrals instead.
//! let transport = ble::central(ble::CentralConfig::default()).await?;
//! let (node, mut events) = spawn(Config::new(NodeId(1), 1), transport)?;
//! # Ok(()) }
//! ```
//!
//! `docs/BLE.md` describes the GATT layout and the two roles.

use blemesh_runtime::Transport;

pub use blemesh_ble::{BleDrop, BleError, BleStats, CentralConfig, PeripheralBackend, PeripheralConfig, gatt};

/// Scans for and connects to blemesh peripherals ([`blemesh_ble::central`]). Must be called
/// inside a tokio runtime, which then hosts the BLE objects.
pub async fn central(config: CentralConfig) -> Result<Transport, BleError> {
    blemesh_ble::central::start(config).await
}

/// Advertises the blemesh service and serves centrals with this platform's back end
/// ([`blemesh_ble::peripheral`]). Must be called inside a tokio runtime.
pub async fn peripheral(config: PeripheralConfig) -> Result<Transport, BleError> {
    blemesh_ble::peripheral::start(config).await
}
