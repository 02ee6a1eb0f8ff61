//! The behaviour tests every runtime driver must pass, written once and run by each runtime
//! crate through [`behaviour_tests!`](crate::behaviour_tests) with its own [`TestRuntime`].
//!
//! Each scenario runs on both transports ([`Net::Memory`] and [`Net::Udp`] on 127.0.0.1),
//! with fast heartbeats so that failures are detected in well under a second. Every wait is
//! bounded; a scenario that does not converge fails with the events it saw.

mod behaviours;
mod mesh;
mod sessions;

use core::future::Future;
use core::time::Duration;
use std::net::SocketAddr;

use blemesh_core::Config;

use crate::udp::UdpConfig;
use crate::{DriverOptions, Error, Handle, Subscription, Transport};

pub use behaviours::*;
pub use sessions::*;
pub use mesh::{Net, TestMesh, fast_config};

/// What a runtime crate provides to run the shared scenarios.
pub trait TestRuntime: 'static {
    /// Runs `test` to completion on this runtime.
    fn block_on<F: Future<Output = ()>>(test: F);
    /// Starts a driver (the runtime's `spawn_with`).
    fn spawn(config: Config, transport: Transport, options: DriverOptions) -> Result<(Handle, Subscription), Error>;
    /// Binds a UDP transport (the runtime's `udp::bind`).
    fn udp(config: UdpConfig) -> Result<(Transport, SocketAddr), Error>;
    /// Waits for `d`.
    fn sleep(d: Duration) -> impl Future<Output = ()>;
}

/// Expands to one `#[test]` per scenario and transport for the runtime `$rt`
/// (a type implementing [`TestRuntime`]).
#[macro_export]
macro_rules! behaviour_tests {
    ($rt:ty) => {
        $crate::behaviour_tests!(@each $rt;
            mesh_forms, broadcast_delivered_once_everywhere, unicast_delivered_to_destination_only,
            shutdown_flushes_queued_messages, full_command_queue_is_reported, lost_neighbour_is_detected_and_avoided,
            radio_decisions_reach_the_transport, session_entries_in_one_order_everywhere,
            session_leave_is_an_entry_for_the_others, session_calls_refused_with_clear_errors,
            lagging_session_stream_says_so,
        );
    };
    (@each $rt:ty; $($name:ident),* $(,)?) => {
        mod memory {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    <$rt as $crate::testsuite::TestRuntime>::block_on(
                        $crate::testsuite::$name::<$rt>($crate::testsuite::Net::Memory),
                    );
                }
            )*
        }
        mod udp {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    <$rt as $crate::testsuite::TestRuntime>::block_on(
                        $crate::testsuite::$name::<$rt>($crate::testsuite::Net::Udp),
                    );
                }
            )*
        }
    };
}
