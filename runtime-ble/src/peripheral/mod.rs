//! The BLE peripheral seam: a platform back end advertises the blemesh service and serves
//! its GATT application; the links it sees are reported through a [`LinkHost`].
//!
//! btleplug cannot advertise or serve GATT, so each platform needs its own
//! [`PeripheralBackend`]. This crate has one for Linux ([`BluezPeripheral`], over `bluer`);
//! another platform adds an implementation of the trait and nothing else changes: [`start`]
//! hands every back end the same [`LinkHost`], so the driver sees the same [`LinkEvent`]s.
//!
//! What a back end must do (see [`crate::gatt`] for the layout):
//!
//! * advertise [`PeripheralConfig::service`], connectable, with [`PeripheralConfig::local_name`];
//! * serve the service with the write characteristic (write without response and write) and
//!   the notify characteristic;
//! * open one link per central ([`LinkHost::open`]) when it subscribes to the notify
//!   characteristic, with the ATT MTU less 3 as the link MTU; hand every value the central
//!   writes to the write characteristic to [`LinkHost::frame`] as one PDU; send each PDU of
//!   the link's queue as one notification; close the link ([`LinkHost::close`]) when the
//!   central unsubscribes or disconnects;
//! * when [`LinkHost::stopped`] resolves, send what is queued, stop advertising and
//!   unregister.
//!
//! [`LinkEvent`]: blemesh_runtime::LinkEvent

#[cfg(target_os = "linux")]
mod bluez;

use core::future::Future;
use core::pin::Pin;

use blemesh_runtime::Transport;
use uuid::Uuid;

use crate::links::LinkHost;
use crate::{BleError, BleStats, gatt};

#[cfg(target_os = "linux")]
pub use bluez::BluezPeripheral;

/// Settings of a BLE peripheral transport.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PeripheralConfig {
    /// Service to advertise and serve. Default [`gatt::SERVICE`].
    pub service: Uuid,
    /// Name in the advertisement. Default `"blemesh"`.
    pub local_name: String,
    /// Adapter to use (`hci0`...); `None` for the platform's default.
    pub adapter: Option<String>,
    /// Capacity of the inbound event channel. Default 256.
    pub inbound_capacity: usize,
    /// PDUs queued per link before transmits fail with `Full`. Default 32.
    pub outbound_capacity: usize,
    /// Drop counters; keep a clone to read them.
    pub stats: BleStats,
}

impl Default for PeripheralConfig {
    fn default() -> Self {
        PeripheralConfig {
            service: gatt::SERVICE,
            local_name: "blemesh".to_string(),
            adapter: None,
            inbound_capacity: 256,
            outbound_capacity: 32,
            stats: BleStats::default(),
        }
    }
}

/// What [`PeripheralBackend::start`] returns: resolves once advertising and serving are
/// registered.
pub type StartFuture = Pin<Box<dyn Future<Output = Result<(), BleError>> + Send>>;

/// A platform's way of advertising the blemesh service and serving its GATT application.
///
/// `start` registers both and returns; the back end then serves centrals from its own
/// tasks (on the tokio runtime `start` ran on) until `host` reports the transport stopped,
/// following the rules in the [module docs](self).
pub trait PeripheralBackend: Send + 'static {
    /// A short name for logs ("bluez"...).
    fn name(&self) -> &'static str;

    /// Registers the advertisement and the GATT application, then serves links on `host`.
    fn start(self: Box<Self>, config: PeripheralConfig, host: LinkHost) -> StartFuture;
}

/// The peripheral back end of this platform, or [`BleError::Unsupported`].
pub fn default_backend() -> Result<Box<dyn PeripheralBackend>, BleError> {
    #[cfg(target_os = "linux")]
    {
        Ok(Box::new(BluezPeripheral))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(BleError::Unsupported("a BLE peripheral back end (only BlueZ on Linux exists)"))
    }
}

/// Starts a peripheral transport with this platform's back end ([`default_backend`]).
/// Must run inside a tokio runtime, which then hosts every BLE object of the transport.
pub async fn start(config: PeripheralConfig) -> Result<Transport, BleError> {
    start_with(default_backend()?, config).await
}

/// Starts a peripheral transport with `backend`. Must run inside a tokio runtime.
pub async fn start_with(backend: Box<dyn PeripheralBackend>, config: PeripheralConfig) -> Result<Transport, BleError> {
    let (host, transport) = LinkHost::new(config.inbound_capacity, config.outbound_capacity);
    let name = backend.name();
    backend.start(config, host).await?;
    tracing::info!(backend = name, "ble peripheral advertising and serving");
    Ok(transport)
}
