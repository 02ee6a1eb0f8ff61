//! The BLE transports against a mock BlueZ (python3-dbusmock's bluez5 template) on a
//! private D-Bus. Each test sets up the mock, then re-runs itself as a child process whose
//! system bus is the private one (see `blemesh_ble::mock`); the child drives the transport
//! while this process plays the remote side through the mock and checks its call log.
//! Without dbus-daemon or python3-dbusmock the tests print why they are skipped.
#![cfg(target_os = "linux")]

use std::io::BufRead;
use std::time::Duration;

use blemesh_ble::mock::{self, MockBus};
use blemesh_core::LinkReport;
use blemesh_tokio::{LinkEvent, Transport, ble};

const WAIT: Duration = Duration::from_secs(20);
const TO_PERIPHERAL: &[u8] = b"\x01blemesh central to peripheral";
const TO_CENTRAL: &[u8] = b"\x01blemesh peripheral to central";
const RECEIVED: &[u8] = b"\x01received";

fn runtime() -> tokio::runtime::Runtime {
    // The child's transport logs go to stderr, shown with the parent's output on failure.
    let _ = tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).with_writer(std::io::stderr).try_init();
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

async fn next_event(transport: &mut Transport) -> LinkEvent {
    tokio::time::timeout(WAIT, transport.events.recv()).await.expect("an event in time").expect("transport open")
}

/// The central finds the mocked device advertising the blemesh service, connects,
/// subscribes, reports the MTU and RSSI, writes a PDU and receives a notification.
#[test]
fn central_finds_connects_and_exchanges_pdus_with_a_mocked_peripheral() {
    const NAME: &str = "central_finds_connects_and_exchanges_pdus_with_a_mocked_peripheral";
    if mock::in_child() {
        runtime().block_on(async {
            let mut t = ble::central(ble::CentralConfig::default()).await.expect("central starts on the mock");
            let LinkEvent::Up { link, report } = next_event(&mut t).await else { panic!("first event is a link up") };
            assert_eq!(report, LinkReport::new(244).with_rssi(-52), "ATT MTU 247 less 3, and the device's RSSI");
            t.sink.transmit(link, TO_PERIPHERAL).expect("queued");
            assert_eq!(next_event(&mut t).await, LinkEvent::Frame { link, bytes: TO_CENTRAL.into() });
            t.sink.close();
            // Queued writes go out and the link is closed before the transport lets go.
            assert_eq!(next_event(&mut t).await, LinkEvent::Down { link });
        });
        return;
    }
    let bus = match MockBus::start_with_bluez() {
        Ok(bus) => bus,
        Err(skip) => return eprintln!("{skip}"),
    };
    let adapter = bus.add_adapter("hci0");
    // A device that does not advertise the service must be left alone.
    let stranger = bus.add_device("hci0", "AA:BB:CC:DD:EE:99", "headphones");
    let device = bus.add_blemesh_device("hci0", "AA:BB:CC:DD:EE:01", -52, 247);

    let mut child = mock::run_child(NAME, bus.address());
    let subscribed = bus.wait_for_call(&device.notify, "StartNotify", WAIT);
    assert_eq!(subscribed.len(), 1, "the central subscribed to the notify characteristic");
    bus.notify(&device, TO_CENTRAL);
    assert!(mock::wait_child(&mut child, WAIT), "the child test passed");

    assert!(!bus.method_calls(&adapter, "StartDiscovery").is_empty(), "the central scanned");
    assert_eq!(bus.method_calls(&device.path, "Connect").len(), 1, "it connected once");
    let writes = bus.method_calls(&device.write, "WriteValue");
    assert_eq!(writes.len(), 1, "one PDU, one write");
    assert_eq!(mock::bytes_of(&writes[0][0]), TO_PERIPHERAL);
    assert!(!bus.method_calls(&device.path, "Disconnect").is_empty(), "it disconnected on close");
    assert!(bus.method_calls(&stranger, "Connect").is_empty(), "no connection to a device without the service");
}

/// The peripheral registers its GATT application and advertisement with BlueZ (exporting
/// the blemesh layout where BlueZ reads it); a central's notify and write sockets, handed
/// over as BlueZ does, make a link that carries PDUs both ways and goes down when the
/// central unsubscribes; closing the transport unregisters both.
#[test]
fn peripheral_registers_serves_a_central_and_unregisters() {
    const NAME: &str = "peripheral_registers_serves_a_central_and_unregisters";
    if mock::in_child() {
        runtime().block_on(async {
            let config = ble::PeripheralConfig::default();
            let stats = config.stats.clone();
            let mut t = ble::peripheral(config).await.expect("peripheral starts on the mock");
            let LinkEvent::Up { link, report } = next_event(&mut t).await else { panic!("first event is a link up") };
            assert_eq!(report, LinkReport::new(242), "ATT MTU 247 less bluer's 5");
            t.sink.transmit(link, TO_CENTRAL).expect("queued");
            assert_eq!(next_event(&mut t).await, LinkEvent::Frame { link, bytes: TO_PERIPHERAL.into() });
            t.sink.transmit(link, RECEIVED).expect("queued");
            assert_eq!(next_event(&mut t).await, LinkEvent::Down { link }, "the central unsubscribed");
            // The other central's write, before it subscribed, was dropped and counted.
            let counted = async {
                while stats.drops(ble::BleDrop::WriteBeforeSubscribe) == 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            tokio::time::timeout(WAIT, counted).await.expect("the early write is counted");
            assert_eq!(stats.drops(ble::BleDrop::WriteBeforeSubscribe), 1);
            // Serve until the parent closes our stdin, then close the transport.
            tokio::task::spawn_blocking(|| for _ in std::io::stdin().lock().lines() {}).await.expect("stdin");
            t.sink.close();
            tokio::time::sleep(Duration::from_secs(2)).await; // let the unregistration go out
        });
        return;
    }
    let bus = match MockBus::start_with_bluez() {
        Ok(bus) => bus,
        Err(skip) => return eprintln!("{skip}"),
    };
    let adapter = bus.add_adapter("hci0");
    bus.add_peripheral_managers(&adapter);

    let mut child = mock::run_child(NAME, bus.address());
    let apps = bus.wait_for_call(&adapter, "RegisterApplication", WAIT);
    let ads = bus.wait_for_call(&adapter, "RegisterAdvertisement", WAIT);
    assert_eq!(apps.len(), 1, "one GATT application registered");
    assert_eq!(ads.len(), 1, "one advertisement registered");

    // What BlueZ would read back: the service with its two characteristics...
    let app_path = mock::path_of(&apps[0][0]);
    let (owner, objects) = bus.exported_objects(&app_path).expect("the application's objects are exported");
    let with_uuid = |iface: &str, uuid: ble::gatt::Uuid| -> Vec<String> {
        objects
            .iter()
            .filter(|(_, ifaces)| {
                ifaces.get(iface).and_then(|p| p.get("UUID")).and_then(|u| u.0.as_str()) == Some(&uuid.to_string())
            })
            .map(|(path, _)| path.to_string())
            .collect()
    };
    assert_eq!(with_uuid("org.bluez.GattService1", ble::gatt::SERVICE).len(), 1, "the service");
    let [write] = &with_uuid("org.bluez.GattCharacteristic1", ble::gatt::WRITE_CHARACTERISTIC)[..] else {
        panic!("one write characteristic")
    };
    let [notify] = &with_uuid("org.bluez.GattCharacteristic1", ble::gatt::NOTIFY_CHARACTERISTIC)[..] else {
        panic!("one notify characteristic")
    };
    // ...and the advertisement of the service, connectable.
    let ad_path = mock::path_of(&ads[0][0]);
    let ad = bus.exported_properties(&ad_path, "org.bluez.LEAdvertisement1").expect("the advertisement is exported");
    assert_eq!(ad.get("Type").and_then(|t| t.0.as_str()), Some("peripheral"));
    let services: Vec<String> = ad
        .get("ServiceUUIDs")
        .and_then(|s| s.0.as_iter())
        .map(|i| i.filter_map(|u| u.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    assert_eq!(services, [ble::gatt::SERVICE.to_string()]);

    // A central that writes before subscribing has no link: its PDU is dropped (counted).
    let early = bus.acquire(&owner, write, "AcquireWrite", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_04", 247);
    early.send(b"\x01too early").expect("write");
    // A central subscribes and writes: BlueZ hands the application one socket for each.
    let central = "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_03";
    let notifications = bus.acquire(&owner, notify, "AcquireNotify", central, 247);
    notifications.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut buf = [0u8; 512];
    let n = notifications.recv(&mut buf).expect("a notification");
    assert_eq!(&buf[..n], TO_CENTRAL, "one PDU, one notification");
    let writes = bus.acquire(&owner, write, "AcquireWrite", central, 247);
    writes.send(TO_PERIPHERAL).expect("write");
    let n = notifications.recv(&mut buf).expect("a notification");
    assert_eq!(&buf[..n], RECEIVED, "the child got our write");
    drop(notifications); // the central unsubscribes: the link goes down

    drop(child.stdin.take()); // the child closes its transport
    assert_eq!(bus.wait_for_call(&adapter, "UnregisterAdvertisement", WAIT).len(), 1, "advertisement withdrawn");
    assert_eq!(bus.wait_for_call(&adapter, "UnregisterApplication", WAIT).len(), 1, "application withdrawn");
    assert!(mock::wait_child(&mut child, WAIT), "the child test passed");
    drop((writes, early));
}
