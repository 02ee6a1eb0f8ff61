//! The shared behaviour tests (`blemesh_runtime::testsuite`) on the async-std driver, over
//! the in-memory hub and over UDP on 127.0.0.1: the very scenarios the tokio driver runs.

use core::future::Future;
use core::time::Duration;
use std::net::SocketAddr;

use blemesh_async_std::{DriverOptions, Error, Handle, Subscription, Transport, UdpConfig};
use blemesh_core::Config;
use blemesh_runtime::testsuite::TestRuntime;

struct AsyncStd;

impl TestRuntime for AsyncStd {
    fn block_on<F: Future<Output = ()>>(test: F) {
        async_std::task::block_on(async {
            async_std::future::timeout(Duration::from_secs(20), test).await.expect("test timed out");
        });
    }

    fn spawn(config: Config, transport: Transport, options: DriverOptions) -> Result<(Handle, Subscription), Error> {
        blemesh_async_std::spawn_with(config, transport, options)
    }

    fn udp(config: UdpConfig) -> Result<(Transport, SocketAddr), Error> {
        blemesh_async_std::udp::bind(config)
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> {
        async_std::task::sleep(d)
    }
}

blemesh_runtime::behaviour_tests!(AsyncStd);
