//! BLE radio optimisation: the core decides, the runtime applies.
//!
//! Pure, deterministic decision functions, each respecting the BLE Core Specification's
//! limits (enforced by the unit types of [`spec`]):
//!
//! * [`link_parameters`]: connection interval, peripheral latency, supervision timeout and
//!   transmit power of one link, from its RSSI, loss, latency needs and traffic load under
//!   a [`PowerBudget`];
//! * [`channel_map`]: the data channels to use, avoiding measured interference while
//!   keeping at least [`BleConfig::min_used_channels`] (never under the spec's 2);
//! * [`advertising_schedule`]: fast bursts while seeking peers or healing a partition,
//!   slow duty-cycled advertising once the mesh is stable.
//!
//! Each takes the previous decision (or how long the situation held) as an input, which is
//! where the hysteresis lives: decisions do not flap around a threshold. [`BleOptimizer`]
//! holds that memory for a node and hands each changed decision out once as a
//! [`RadioDecision`] ([`crate::Output::Radio`]). Nothing here crosses the wire.

mod advertising;
mod channel_map;
mod config;
mod optimizer;
mod params;
#[cfg(test)]
mod prop_tests;
pub mod spec;
#[cfg(test)]
mod tests;

pub use advertising::{AdvertisingMode, AdvertisingSchedule, MeshSituation, advertising_schedule};
pub use channel_map::{ChannelMap, channel_map};
pub use config::{AdvertisingConfig, BleConfig, DATA_CHANNELS, PowerBudget, PowerProfile, SPEC_MIN_USED_CHANNELS};
pub use optimizer::{BleOptimizer, RadioDecision};
pub use params::{LinkConditions, LinkParameters, SpecViolation, link_parameters};
pub use spec::{AdvertisingInterval, ConnectionInterval, PeripheralLatency, SupervisionTimeout};
