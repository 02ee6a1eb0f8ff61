//! BLE transports for the async-std driver (feature `ble`, on by default).
//!
//! btleplug and bluer need tokio, so each transport is started on a [`BleThread`] (a tokio
//! runtime on its own thread) that hosts its BLE objects; the transport's channels are
//! runtime-agnostic, so the async-std driver uses it like any other. The thread lives as
//! long as the transport.

use blemesh_runtime::Transport;

pub use blemesh_ble::{
    BleDrop, BleError, BleStats, BleThread, CentralConfig, PeripheralBackend, PeripheralConfig, gatt,
};

/// Scans for and connects to blemesh peripherals, on a new [`BleThread`].
pub async fn central(config: CentralConfig) -> Result<Transport, BleError> {
    BleThread::start()?.central(config).await
}

/// Advertises the blemesh service and serves centrals, on a new [`BleThread`].
pub async fn peripheral(config: PeripheralConfig) -> Result<Transport, BleError> {
    BleThread::start()?.peripheral(config).await
}
