//! The Linux peripheral back end: BlueZ over D-Bus, through `bluer`.
//!
//! It registers a GATT application (`GattManager1.RegisterApplication`) with the blemesh
//! service, and an advertisement (`LEAdvertisingManager1.RegisterAdvertisement`). Both
//! characteristics use BlueZ's socket hand-over (`AcquireWrite`, `AcquireNotify`), which
//! tells which central each socket belongs to and its ATT MTU:
//!
//! * a central's notify socket opens its link and carries the link's PDUs, one per
//!   notification; when it closes, the link is down;
//! * a central's write socket delivers its PDUs, one per write, to its link (writes from a
//!   central that has not subscribed yet have no link and are dropped).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use blemesh_core::{LinkId, LinkReport};
use bluer::adv::{Advertisement, Type};
use bluer::gatt::local::{
    Application, Characteristic, CharacteristicControlEvent, CharacteristicNotify, CharacteristicNotifyMethod,
    CharacteristicWrite, CharacteristicWriteMethod, Service, characteristic_control,
};
use bluer::gatt::{CharacteristicReader, CharacteristicWriter};
use bluer::{Address, ErrorKind, Session};
use bytes::Bytes;
use futures_lite::StreamExt;
use tracing::Instrument;

use super::{PeripheralBackend, PeripheralConfig, StartFuture};
use crate::error::probe_bluez_async;
use crate::gatt::{self, NOTIFY_CHARACTERISTIC, WRITE_CHARACTERISTIC};
use crate::links::{LinkHost, OpenLink};
use crate::{BleDrop, BleError, BleStats};

/// The BlueZ peripheral back end (Linux).
#[derive(Clone, Copy, Debug, Default)]
pub struct BluezPeripheral;

impl PeripheralBackend for BluezPeripheral {
    fn name(&self) -> &'static str {
        "bluez"
    }

    fn start(self: Box<Self>, config: PeripheralConfig, host: LinkHost) -> StartFuture {
        Box::pin(start(config, host))
    }
}

/// Device address → its link, shared by the notify and write sockets' tasks.
type Centrals = Arc<Mutex<HashMap<Address, LinkId>>>;

fn lock(centrals: &Centrals) -> MutexGuard<'_, HashMap<Address, LinkId>> {
    centrals.lock().unwrap_or_else(|p| p.into_inner())
}

async fn start(config: PeripheralConfig, host: LinkHost) -> Result<(), BleError> {
    probe_bluez_async().await?;
    let session = Session::new().await.map_err(|e| BleError::stack("open a BlueZ session", e))?;
    let names = session.adapter_names().await.map_err(|e| BleError::stack("list adapters", e))?;
    let adapter = match &config.adapter {
        Some(name) if names.contains(name) => session.adapter(name),
        Some(_) => return Err(BleError::NoAdapter),
        None => session.default_adapter().await,
    }
    .map_err(|e| {
        if e.kind == ErrorKind::NotFound { BleError::NoAdapter } else { BleError::stack("open the adapter", e) }
    })?;
    if !adapter.is_powered().await.map_err(|e| BleError::stack("read the adapter state", e))? {
        adapter.set_powered(true).await.map_err(|e| BleError::stack("power the adapter on", e))?;
    }

    let (write_control, write_handle) = characteristic_control();
    let (notify_control, notify_handle) = characteristic_control();
    let application = Application {
        services: vec![Service {
            uuid: config.service,
            primary: true,
            characteristics: vec![
                Characteristic {
                    uuid: WRITE_CHARACTERISTIC,
                    write: Some(CharacteristicWrite {
                        write: true,
                        write_without_response: true,
                        method: CharacteristicWriteMethod::Io,
                        ..Default::default()
                    }),
                    control_handle: write_handle,
                    ..Default::default()
                },
                Characteristic {
                    uuid: NOTIFY_CHARACTERISTIC,
                    notify: Some(CharacteristicNotify {
                        notify: true,
                        method: CharacteristicNotifyMethod::Io,
                        ..Default::default()
                    }),
                    control_handle: notify_handle,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    };
    let application = adapter
        .serve_gatt_application(application)
        .await
        .map_err(|e| BleError::stack("register the GATT application", e))?;
    let advertisement = Advertisement {
        advertisement_type: Type::Peripheral,
        service_uuids: [config.service].into_iter().collect(),
        local_name: Some(config.local_name.clone()),
        discoverable: Some(true),
        ..Default::default()
    };
    let advertisement =
        adapter.advertise(advertisement).await.map_err(|e| BleError::stack("register the advertisement", e))?;

    let span = tracing::info_span!("ble-peripheral", adapter = adapter.name());
    tokio::spawn(
        async move {
            let centrals = Centrals::default();
            let mut write_control = write_control;
            let mut notify_control = notify_control;
            loop {
                tokio::select! {
                    _ = host.stopped() => break,
                    event = notify_control.next() => match event {
                        Some(CharacteristicControlEvent::Notify(writer)) => {
                            notify_session(writer, &host, &centrals).await;
                        }
                        Some(CharacteristicControlEvent::Write(_)) => {}
                        None => break,
                    },
                    event = write_control.next() => match event {
                        Some(CharacteristicControlEvent::Write(request)) => match request.accept() {
                            Ok(reader) => {
                                let session = write_session(reader, host.clone(), centrals.clone(), config.stats.clone());
                                tokio::spawn(session.in_current_span());
                            }
                            Err(e) => tracing::debug!(error = %e, "could not accept a write socket"),
                        },
                        Some(CharacteristicControlEvent::Notify(_)) => {}
                        None => break,
                    },
                }
            }
            // Dropping the handles unregisters the application and the advertisement; the
            // session goes last.
            drop(advertisement);
            drop(application);
            drop(session);
            tracing::debug!("ble peripheral stopped");
        }
        .instrument(span),
    );
    Ok(())
}

/// A central subscribed: open its link and serve its notifications from a task.
async fn notify_session(writer: CharacteristicWriter, host: &LinkHost, centrals: &Centrals) {
    let device = writer.device_address();
    // bluer reports the ATT MTU less 5 (the 3-byte header and a margin BlueZ needs).
    let mtu = u16::try_from(writer.mtu()).unwrap_or(u16::MAX).clamp(gatt::MIN_PDU, gatt::MAX_PDU as u16);
    let Some(link) = host.open(LinkReport::new(mtu)).await else { return };
    let replaced = lock(centrals).insert(device, link.id);
    if let Some(old) = replaced {
        // It subscribed again: its old notify socket is replaced.
        host.close(old).await;
    }
    tracing::info!(%device, link = %link.id.0, mtu, "ble link up");
    tokio::spawn(notify(writer, link, host.clone(), centrals.clone()).in_current_span());
}

async fn notify(writer: CharacteristicWriter, mut link: OpenLink, host: LinkHost, centrals: Centrals) {
    let device = writer.device_address();
    loop {
        tokio::select! {
            biased;
            _ = host.stopped() => {
                while let Ok(pdu) = link.outbound.try_recv() {
                    if writer.send(pdu.as_slice()).await.is_err() {
                        break;
                    }
                }
                break;
            }
            _ = writer.closed() => break,
            pdu = link.outbound.recv() => match pdu {
                Some(pdu) => {
                    if let Err(e) = writer.send(pdu.as_slice()).await {
                        tracing::debug!(%device, error = %e, "notification failed");
                        break;
                    }
                }
                None => break,
            },
        }
    }
    {
        let mut map = lock(&centrals);
        if map.get(&device) == Some(&link.id) {
            map.remove(&device);
        }
    }
    host.close(link.id).await;
    tracing::info!(%device, link = %link.id.0, "ble link down");
}

/// A central's write socket: each datagram is one PDU of its link.
async fn write_session(reader: CharacteristicReader, host: LinkHost, centrals: Centrals, stats: BleStats) {
    let device = reader.device_address();
    loop {
        let value = tokio::select! {
            _ = host.stopped() => break,
            value = reader.recv() => value,
        };
        match value {
            Ok(value) if value.is_empty() => break, // the central closed the socket
            Ok(value) => {
                let link = lock(&centrals).get(&device).copied();
                match link {
                    Some(link) => {
                        if !host.frame(link, Bytes::from(value)).await {
                            break;
                        }
                    }
                    None => stats.count(BleDrop::WriteBeforeSubscribe),
                }
            }
            Err(e) => {
                tracing::debug!(%device, error = %e, "write socket closed");
                break;
            }
        }
    }
}
