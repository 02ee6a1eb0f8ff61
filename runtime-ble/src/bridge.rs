//! A tokio runtime on its own thread, hosting BLE objects for drivers of other runtimes
//! (async-std): btleplug and bluer need tokio.
//!
//! Only set-up crosses the bridge: [`BleThread::central`] and [`BleThread::peripheral`] run
//! the back end's start on the thread and hand back its [`Transport`]. Its channels are
//! runtime-agnostic (`tokio::sync`), so the driver reads and writes them from any executor.
//! Each transport keeps the thread alive; the thread stops when the [`BleThread`] and
//! every transport it made are dropped, after giving the back ends up to a second to
//! finish (the last drop waits for that).

use core::future::Future;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use blemesh_core::LinkId;
use blemesh_runtime::{LinkSink, TransmitError, Transport};
use tokio::sync::oneshot;

use crate::{BleError, CentralConfig, PeripheralConfig, central, peripheral};

/// How long a stopping BLE thread lets the back ends finish (flush, disconnect, unregister).
const STOP_GRACE: Duration = Duration::from_secs(1);

/// A tokio runtime thread for BLE objects. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BleThread {
    inner: Arc<Thread>,
}

#[derive(Debug)]
struct Thread {
    handle: tokio::runtime::Handle,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Thread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = stop.send(());
        }
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        // The last owner may be a task on the BLE thread itself: it must not join itself.
        if let Some(t) = thread.filter(|t| t.thread().id() != std::thread::current().id()) {
            let _ = t.join();
        }
    }
}

impl BleThread {
    /// Starts the thread ("blemesh-ble") and its current-thread tokio runtime.
    pub fn start() -> Result<BleThread, BleError> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(BleError::Runtime)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("blemesh-ble".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                    // The back ends were told to stop when their sinks closed: let them
                    // write what is queued, disconnect and unregister (D-Bus connection
                    // tasks never end, so this waits at most the grace period).
                    let metrics = tokio::runtime::Handle::current().metrics();
                    let grace = tokio::time::Instant::now() + STOP_GRACE;
                    while metrics.num_alive_tasks() > 0 && tokio::time::Instant::now() < grace {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                });
                // What is left is dropped inside the runtime.
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(BleError::Runtime)?;
        Ok(BleThread {
            inner: Arc::new(Thread { handle, stop: Mutex::new(Some(stop)), thread: Mutex::new(Some(thread)) }),
        })
    }

    /// Runs `start` on the BLE thread and waits for it from any executor.
    async fn run<F>(&self, start: F) -> Result<Transport, BleError>
    where
        F: Future<Output = Result<Transport, BleError>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.inner.handle.spawn(async move {
            let _ = tx.send(start.await);
        });
        let transport = rx.await.map_err(|_| BleError::Stopped)??;
        let Transport { events, sink } = transport;
        Ok(Transport::new(events, Hosted { sink, _thread: self.inner.clone() }))
    }

    /// [`central::start`] on the BLE thread.
    pub async fn central(&self, config: CentralConfig) -> Result<Transport, BleError> {
        self.run(central::start(config)).await
    }

    /// [`peripheral::start`] on the BLE thread.
    pub async fn peripheral(&self, config: PeripheralConfig) -> Result<Transport, BleError> {
        self.run(peripheral::start(config)).await
    }
}

/// A sink that keeps the BLE thread alive as long as the driver holds it.
struct Hosted {
    sink: Box<dyn LinkSink>,
    _thread: Arc<Thread>,
}

impl LinkSink for Hosted {
    fn transmit(&mut self, link: LinkId, bytes: &[u8]) -> Result<(), TransmitError> {
        self.sink.transmit(link, bytes)
    }

    fn close(&mut self) {
        self.sink.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::LinkHost;
    use blemesh_core::LinkReport;
    use blemesh_runtime::LinkEvent;

    /// A transport started on the BLE thread is driven from a plain thread with no runtime.
    #[test]
    fn transports_cross_the_bridge_and_keep_the_thread_alive() {
        let thread = BleThread::start().expect("thread");
        let (host_tx, host_rx) = std::sync::mpsc::channel::<LinkHost>();
        let mut transport = futures_lite::future::block_on(thread.run(async move {
            let (host, transport) = LinkHost::new(4, 4);
            let _ = host_tx.send(host);
            Ok(transport)
        }))
        .expect("started");
        let host = host_rx.recv().expect("host");
        drop(thread); // the transport still holds the thread
        let (link_tx, link_rx) = std::sync::mpsc::channel();
        transport.sink.transmit(LinkId(0), b"x").expect_err("no link yet");
        let h = host.clone();
        std::thread::spawn(move || {
            let link = futures_lite::future::block_on(h.open(LinkReport::new(20))).expect("open");
            let _ = link_tx.send(link);
        });
        let up = futures_lite::future::block_on(transport.events.recv());
        let mut link = link_rx.recv().expect("link");
        assert_eq!(up, Some(LinkEvent::Up { link: link.id, report: LinkReport::new(20) }));
        transport.sink.transmit(link.id, b"ping").expect("queued");
        assert_eq!(link.outbound.try_recv().expect("pdu").as_slice(), b"ping");
        transport.sink.close();
        assert!(host.is_stopped());
    }
}
