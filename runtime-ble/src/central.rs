//! The BLE central back end, over `btleplug` (BlueZ on Linux, CoreBluetooth, WinRT).
//!
//! [`start`] opens the first adapter, scans for peripherals advertising the blemesh
//! service ([`crate::gatt::SERVICE`]) and connects to them, up to
//! [`CentralConfig::max_links`]. Each connection becomes a link once its services are
//! discovered and the notify characteristic is subscribed:
//!
//! * **up** with the negotiated ATT MTU less 3 ([`crate::gatt::pdu_mtu`]) and the RSSI;
//! * PDUs from the driver are written to the write characteristic, without response;
//! * notifications of the notify characteristic are the peer's PDUs;
//! * RSSI is re-read every [`CentralConfig::rssi_interval`] and reported when it changes;
//! * **down** when the peripheral disconnects, a write finds it gone, or the transport stops.
//!
//! A failed connection attempt is retried no sooner than [`CentralConfig::retry_after`].
//! Every btleplug object lives and is dropped inside the tokio runtime [`start`] runs on.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;

use blemesh_core::LinkReport;
use blemesh_runtime::Transport;
use btleplug::api::{
    Central, CentralEvent, Characteristic, Manager as _, Peripheral as _, ScanFilter, ValueNotification, WriteType,
};
use btleplug::platform::{Adapter, Manager, Peripheral, PeripheralId};
use bytes::Bytes;
use futures_lite::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

use crate::error::probe_bluez_async;
use crate::gatt::{self, NOTIFY_CHARACTERISTIC, WRITE_CHARACTERISTIC};
use crate::links::{LinkHost, OpenLink};
use crate::{BleDrop, BleError, BleStats};

/// Settings of a BLE central transport.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CentralConfig {
    /// Service to scan for and connect to. Default [`gatt::SERVICE`].
    pub service: Uuid,
    /// Most peripherals connected at once. Default 4.
    pub max_links: usize,
    /// Longest wait for a connection and its service discovery. Default 10 s.
    pub connect_timeout: Duration,
    /// Wait before trying again a peripheral whose connection failed. Default 5 s.
    pub retry_after: Duration,
    /// How often the RSSI of each link is read. Default 2 s.
    pub rssi_interval: Duration,
    /// Capacity of the inbound event channel. Default 256.
    pub inbound_capacity: usize,
    /// PDUs queued per link before transmits fail with `Full`. Default 32.
    pub outbound_capacity: usize,
    /// Drop counters; keep a clone to read them.
    pub stats: BleStats,
}

impl Default for CentralConfig {
    fn default() -> Self {
        CentralConfig {
            service: gatt::SERVICE,
            max_links: 4,
            connect_timeout: Duration::from_secs(10),
            retry_after: Duration::from_secs(5),
            rssi_interval: Duration::from_secs(2),
            inbound_capacity: 256,
            outbound_capacity: 32,
            stats: BleStats::default(),
        }
    }
}

type Events = Pin<Box<dyn Stream<Item = CentralEvent> + Send>>;

/// Opens the first Bluetooth adapter, starts scanning for the blemesh service and returns
/// the transport to hand to a driver. Must run inside a tokio runtime, which then hosts
/// every BLE object of this transport.
///
/// Errors say which piece is missing: [`BleError::NoDbus`], [`BleError::NoBluez`] (Linux),
/// [`BleError::NoAdapter`].
pub async fn start(config: CentralConfig) -> Result<Transport, BleError> {
    probe_bluez_async().await?;
    let manager = Manager::new().await.map_err(|e| BleError::stack("open a Bluetooth session", e))?;
    let adapter = manager
        .adapters()
        .await
        .map_err(|e| BleError::stack("list adapters", e))?
        .into_iter()
        .next()
        .ok_or(BleError::NoAdapter)?;
    let events = adapter.events().await.map_err(|e| BleError::stack("subscribe to adapter events", e))?;
    adapter
        .start_scan(ScanFilter { services: vec![config.service] })
        .await
        .map_err(|e| BleError::stack("start scanning", e))?;
    let info = adapter.adapter_info().await.unwrap_or_default();
    tracing::info!(adapter = %info, service = %config.service, "ble central scanning");
    let (host, transport) = LinkHost::new(config.inbound_capacity, config.outbound_capacity);
    tokio::spawn(scan(adapter, events, host, config).instrument(tracing::info_span!("ble-central", adapter = %info)));
    Ok(transport)
}

/// A connection task, as the scan loop tracks it.
#[derive(Debug)]
struct Connection {
    generation: u64,
    disconnected: oneshot::Sender<()>,
}

async fn scan(adapter: Adapter, mut events: Events, host: LinkHost, config: CentralConfig) {
    let mut connections: HashMap<PeripheralId, Connection> = HashMap::new();
    let mut failed: HashMap<PeripheralId, Instant> = HashMap::new();
    let (ended_tx, mut ended_rx) = mpsc::channel::<(PeripheralId, u64, bool)>(config.max_links.max(1));
    let mut generation = 0u64;
    loop {
        tokio::select! {
            _ = host.stopped() => break,
            Some((id, g, ok)) = ended_rx.recv() => {
                if connections.get(&id).is_some_and(|c| c.generation == g) {
                    connections.remove(&id);
                }
                if !ok {
                    failed.retain(|_, at| at.elapsed() < config.retry_after);
                    failed.insert(id, Instant::now());
                }
            }
            event = events.next() => match event {
                None => {
                    tracing::warn!("adapter event stream ended: no more links will be opened");
                    break;
                }
                Some(CentralEvent::DeviceDisconnected(id)) => {
                    if let Some(c) = connections.remove(&id) {
                        let _ = c.disconnected.send(());
                    }
                }
                Some(
                    CentralEvent::DeviceDiscovered(id)
                    | CentralEvent::DeviceUpdated(id)
                    | CentralEvent::ServicesAdvertisement { id, .. },
                ) => {
                    if connections.contains_key(&id) || connections.len() >= config.max_links {
                        continue;
                    }
                    if failed.get(&id).is_some_and(|at| at.elapsed() < config.retry_after) {
                        continue;
                    }
                    let Some(peripheral) = advertising(&adapter, &id, config.service).await else { continue };
                    generation += 1;
                    let (tx, rx) = oneshot::channel();
                    connections.insert(id.clone(), Connection { generation, disconnected: tx });
                    let ended = ended_tx.clone();
                    let (host, config, g) = (host.clone(), config.clone(), generation);
                    let span = tracing::info_span!("link", peer = %peripheral.address());
                    tokio::spawn(async move {
                        let ok = connect_and_serve(peripheral, host, &config, rx).await;
                        let _ = ended.send((id, g, ok)).await;
                    }.instrument(span));
                }
                Some(_) => {}
            }
        }
    }
    // Link tasks see the stop too: they write what is queued and disconnect.
    drop(ended_tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), async { while ended_rx.recv().await.is_some() {} }).await;
    if let Err(e) = adapter.stop_scan().await {
        tracing::debug!(error = %e, "stop scan");
    }
    tracing::debug!("ble central stopped");
}

/// The peripheral `id` if it advertises `service`.
async fn advertising(adapter: &Adapter, id: &PeripheralId, service: Uuid) -> Option<Peripheral> {
    let peripheral = adapter.peripheral(id).await.ok()?;
    let properties = peripheral.properties().await.ok()??;
    properties.services.contains(&service).then_some(peripheral)
}

/// The write and notify characteristics of `service`.
fn characteristics(peripheral: &Peripheral, service: Uuid) -> Option<(Characteristic, Characteristic)> {
    let chars = peripheral.characteristics();
    let find = |uuid| chars.iter().find(|c| c.uuid == uuid && c.service_uuid == service).cloned();
    Some((find(WRITE_CHARACTERISTIC)?, find(NOTIFY_CHARACTERISTIC)?))
}

/// Connects, runs the link until it ends, disconnects. `false` if it never came up.
async fn connect_and_serve(
    peripheral: Peripheral,
    host: LinkHost,
    config: &CentralConfig,
    disconnected: oneshot::Receiver<()>,
) -> bool {
    let opened = tokio::time::timeout(config.connect_timeout, open(&peripheral, &host, config.service)).await;
    let (link, write, notifications) = match opened {
        Ok(Ok(Some(up))) => up,
        Ok(Ok(None)) => return true, // the driver is gone
        Ok(Err(e)) => {
            tracing::info!(error = %e, "connection failed");
            let _ = peripheral.disconnect().await;
            return false;
        }
        Err(_) => {
            tracing::info!(timeout = ?config.connect_timeout, "connection timed out");
            let _ = peripheral.disconnect().await;
            return false;
        }
    };
    let id = link.id;
    tracing::info!(link = %id.0, "ble link up");
    serve(&peripheral, &host, link, &write, notifications, config, disconnected).await;
    host.close(id).await;
    if let Err(e) = peripheral.disconnect().await {
        tracing::debug!(error = %e, "disconnect");
    }
    tracing::info!(link = %id.0, "ble link down");
    true
}

type Notifications = Pin<Box<dyn Stream<Item = ValueNotification> + Send>>;

/// Connects, discovers the service and subscribes; then opens the link.
async fn open(
    peripheral: &Peripheral,
    host: &LinkHost,
    service: Uuid,
) -> Result<Option<(OpenLink, Characteristic, Notifications)>, btleplug::Error> {
    peripheral.connect().await?;
    peripheral.discover_services().await?;
    let Some((write, notify)) = characteristics(peripheral, service) else {
        return Err(btleplug::Error::NotSupported("the blemesh characteristics are missing".into()));
    };
    // The stream first, so no notification after the subscription is missed.
    let notifications = peripheral.notifications().await?;
    peripheral.subscribe(&notify).await?;
    Ok(host.open(report(peripheral).await).await.map(|link| (link, write, notifications)))
}

/// The link's current radio properties.
async fn report(peripheral: &Peripheral) -> LinkReport {
    let report = LinkReport::new(gatt::pdu_mtu(peripheral.mtu()));
    match peripheral.properties().await {
        Ok(Some(p)) => match p.rssi {
            Some(rssi) => report.with_rssi(gatt::rssi_dbm(rssi)),
            None => report,
        },
        _ => report,
    }
}

async fn serve(
    peripheral: &Peripheral,
    host: &LinkHost,
    mut link: OpenLink,
    write: &Characteristic,
    mut notifications: Notifications,
    config: &CentralConfig,
    mut disconnected: oneshot::Receiver<()>,
) {
    let mut last = report(peripheral).await;
    let mut tick = tokio::time::interval_at(Instant::now() + config.rssi_interval, config.rssi_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = host.stopped() => {
                while let Ok(pdu) = link.outbound.try_recv() {
                    if peripheral.write(write, pdu.as_slice(), WriteType::WithoutResponse).await.is_err() {
                        break;
                    }
                }
                return;
            }
            _ = &mut disconnected => return,
            pdu = link.outbound.recv() => {
                let Some(pdu) = pdu else { return };
                if let Err(e) = peripheral.write(write, pdu.as_slice(), WriteType::WithoutResponse).await {
                    tracing::debug!(error = %e, "write failed");
                    if !peripheral.is_connected().await.unwrap_or(false) {
                        return;
                    }
                }
            }
            note = notifications.next() => match note {
                Some(n) if n.uuid == NOTIFY_CHARACTERISTIC => {
                    if !host.frame(link.id, Bytes::from(n.value)).await {
                        return;
                    }
                }
                Some(_) => config.stats.count(BleDrop::ForeignNotification),
                None => return,
            },
            _ = tick.tick() => {
                let now = report(peripheral).await;
                if now != last {
                    last = now;
                    if !host.report(link.id, now).await {
                        return;
                    }
                }
            }
        }
    }
}
