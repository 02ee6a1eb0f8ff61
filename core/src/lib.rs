//! # blemesh-core
//!
//! The sans-IO state machine of blemesh, a Bluetooth Low Energy mesh for peer-to-peer games.
//! `#![no_std]` + `alloc`: no clock, no I/O, no randomness of its own.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod config;
mod error;
mod id;
mod metrics;
mod output;
mod qos;
mod time;
pub mod election;
pub mod partition;
pub mod wire;

pub use config::{Config, MAX_SEQ_WINDOW};
pub use error::{ConfigError, Error, Queue};
pub use id::{Destination, LinkId, MessageId, NodeId};
pub use metrics::{DropCounts, DropReason, Metrics};
pub use output::{Degradation, Delivery, Event, LossReason, Output, Transmit};
pub use qos::{Priority, Qos};
pub use time::Instant;
