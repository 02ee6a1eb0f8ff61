//! The shared behaviour tests (`blemesh_runtime::testsuite`) on the tokio driver, over the
//! in-memory hub and over UDP on 127.0.0.1.

use core::future::Future;
use core::time::Duration;
use std::net::SocketAddr;

use blemesh_core::Config;
use blemesh_runtime::testsuite::TestRuntime;
use blemesh_tokio::{DriverOptions, Error, Handle, Subscription, Transport, UdpConfig};

/// Each test on its own single-threaded runtime: deterministic scheduling, light on cores.
struct Tokio;

impl TestRuntime for Tokio {
    fn block_on<F: Future<Output = ()>>(test: F) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(20), test).await.expect("test timed out");
        });
    }

    fn spawn(config: Config, transport: Transport, options: DriverOptions) -> Result<(Handle, Subscription), Error> {
        blemesh_tokio::spawn_with(config, transport, options)
    }

    fn udp(config: UdpConfig) -> Result<(Transport, SocketAddr), Error> {
        blemesh_tokio::udp::bind(config)
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(d)
    }
}

blemesh_runtime::behaviour_tests!(Tokio);
