//! Test fixture (feature `mock-bluez`): a private D-Bus daemon with python3-dbusmock's
//! `bluez5` template, so the BLE transports can be exercised without Bluetooth hardware.
//!
//! BlueZ clients use the *system* bus, whose address a process reads from
//! `DBUS_SYSTEM_BUS_ADDRESS`. Setting that in a multi-threaded test binary is unsound, so
//! a test sets up the mock, then re-runs itself as a child test process with the variable
//! set ([`run_child`]); the child ([`in_child`] is true) drives the transport while the
//! parent plays the remote side through the mock and reads its call log.
//!
//! When `dbus-daemon` or python3-dbusmock is missing, [`MockBus::start`] and
//! [`MockBus::start_bluez`] return a [`Skip`] that says which; the test prints it and
//! returns (`scripts/test-deps.sh` installs both in CI).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::blocking::Connection;
use dbus::channel::Channel;

use crate::gatt;

/// The environment variable that marks a child test process.
pub const CHILD_ENV: &str = "BLEMESH_MOCK_CHILD";

/// Why a mock test cannot run on this machine.
#[derive(Debug)]
pub struct Skip(pub String);

impl core::fmt::Display for Skip {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "skipped: {}", self.0)
    }
}

/// Whether this process is a child test started by [`run_child`].
pub fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// A child of the current test binary running only the test `name`, with its system bus
/// at `system_bus`. Its stdin is piped (a child may wait for it to close), its output is
/// inherited so it shows in the parent's test output.
pub fn run_child(name: &str, system_bus: &str) -> Child {
    let exe = std::env::current_exe().expect("the test binary's path");
    Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", system_bus)
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn the child test")
}

/// Waits for a child test, killing it after `limit`; whether it passed.
pub fn wait_child(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

/// A private `dbus-daemon` and, once started, a mock BlueZ on it.
pub struct MockBus {
    daemon: Child,
    bluez: Option<Child>,
    address: String,
    conn: Connection,
}

const MOCK_IFACE: &str = "org.freedesktop.DBus.Mock";
const BLUEZ_MOCK_IFACE: &str = "org.bluez.Mock";
const TIMEOUT: Duration = Duration::from_secs(5);

/// A D-Bus value of any type, as call logs and property maps hold them.
pub type Value = Variant<Box<dyn RefArg>>;

/// The arguments of one recorded method call.
pub type CallArgs = Vec<Value>;

/// Objects a client exports: path → interface → properties.
pub type ManagedObjects = HashMap<dbus::Path<'static>, HashMap<String, PropMap>>;

/// A boxed D-Bus value for property maps.
pub fn variant<T: RefArg + 'static>(value: T) -> Value {
    Variant(Box::new(value))
}

impl MockBus {
    /// Starts `dbus-daemon --session --print-address --nofork` on a private socket.
    pub fn start() -> Result<MockBus, Skip> {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--print-address", "--nofork"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Skip(format!("dbus-daemon cannot be started ({e}); install the dbus-daemon package")))?;
        let mut line = String::new();
        let read = daemon.stdout.take().map(|out| BufReader::new(out).read_line(&mut line));
        let address = line.trim().to_string();
        if !matches!(read, Some(Ok(n)) if n > 0) || address.is_empty() {
            let _ = daemon.kill();
            let _ = daemon.wait();
            return Err(Skip("dbus-daemon printed no address".into()));
        }
        let conn = Channel::open_private(&address)
            .and_then(|mut ch| ch.register().map(|()| ch))
            .map(Connection::from)
            .map_err(|e| Skip(format!("cannot connect to the private bus: {e}")))?;
        Ok(MockBus { daemon, bluez: None, address, conn })
    }

    /// [`MockBus::start`] then [`MockBus::start_bluez`]: a private bus with the mocked BlueZ
    /// on it, or why the mock cannot run here.
    pub fn start_with_bluez() -> Result<MockBus, Skip> {
        let mut bus = MockBus::start()?;
        bus.start_bluez()?;
        Ok(bus)
    }

    /// The bus address, for `DBUS_SYSTEM_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Starts `python3 -m dbusmock --system --template bluez5` on this bus and waits until
    /// it owns `org.bluez`.
    pub fn start_bluez(&mut self) -> Result<(), Skip> {
        let python = ["/usr/bin/python3", "python3"]
            .into_iter()
            .find(|py| {
                Command::new(py)
                    .args(["-c", "import dbusmock"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
            .ok_or_else(|| Skip("python3-dbusmock not installed (apt-get install python3-dbusmock)".into()))?;
        let child = Command::new(python)
            .args(["-m", "dbusmock", "--system", "--template", "bluez5"])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Skip(format!("cannot start dbusmock: {e}")))?;
        self.bluez = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let bus = self.conn.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", TIMEOUT);
            let owned: Result<(bool,), _> = bus.method_call("org.freedesktop.DBus", "NameHasOwner", ("org.bluez",));
            if matches!(owned, Ok((true,))) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(Skip("the dbusmock bluez5 template did not come up within 15 s".into()))
    }

    fn call<A: dbus::arg::AppendAll, R: dbus::arg::ReadAll>(
        &self,
        path: &str,
        iface: &str,
        method: &str,
        args: A,
    ) -> R {
        self.conn
            .with_proxy("org.bluez", path, TIMEOUT)
            .method_call(iface, method, args)
            .unwrap_or_else(|e| panic!("mock call {iface}.{method} on {path}: {e}"))
    }

    /// `org.bluez.Mock.AddAdapter`: an adapter `name` (`hci0`); its object path.
    pub fn add_adapter(&self, name: &str) -> String {
        let (path,): (String,) = self.call("/", BLUEZ_MOCK_IFACE, "AddAdapter", (name, "blemesh-test"));
        path
    }

    /// `org.bluez.Mock.AddDevice`: a device seen by `adapter`; its object path.
    pub fn add_device(&self, adapter: &str, address: &str, alias: &str) -> String {
        let (path,): (String,) = self.call("/", BLUEZ_MOCK_IFACE, "AddDevice", (adapter, address, alias));
        path
    }

    /// Sets properties of `iface` on `path`, emitting `PropertiesChanged`.
    pub fn update_properties(&self, path: &str, iface: &str, props: PropMap) {
        let () = self.call(path, MOCK_IFACE, "UpdateProperties", (iface, props));
    }

    /// Adds an object with `iface`, its properties and methods `(name, in, out, python)`.
    pub fn add_object(&self, path: &str, iface: &str, props: PropMap, methods: &[(&str, &str, &str, &str)]) {
        let methods: Vec<(&str, &str, &str, &str)> = methods.to_vec();
        let () = self.call("/", MOCK_IFACE, "AddObject", (path, iface, props, methods));
    }

    /// Adds methods of a further interface to the object at `path`.
    pub fn add_methods(&self, path: &str, iface: &str, methods: &[(&str, &str, &str, &str)]) {
        let methods: Vec<(&str, &str, &str, &str)> = methods.to_vec();
        let () = self.call(path, MOCK_IFACE, "AddMethods", (iface, methods));
    }

    /// Adds properties of a further interface to the object at `path`.
    pub fn add_properties(&self, path: &str, iface: &str, props: PropMap) {
        let () = self.call(path, MOCK_IFACE, "AddProperties", (iface, props));
    }

    /// The arguments of every recorded call of `method` on the object at `path`.
    pub fn method_calls(&self, path: &str, method: &str) -> Vec<CallArgs> {
        let (calls,): (Vec<(u64, CallArgs)>,) = self.call(path, MOCK_IFACE, "GetMethodCalls", (method,));
        calls.into_iter().map(|(_, args)| args).collect()
    }

    /// Waits up to `limit` for a call of `method` on `path`; its calls so far.
    pub fn wait_for_call(&self, path: &str, method: &str, limit: Duration) -> Vec<CallArgs> {
        let deadline = Instant::now() + limit;
        loop {
            let calls = self.method_calls(path, method);
            if !calls.is_empty() || Instant::now() >= deadline {
                return calls;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Gives the adapter at `path` the two managers a BLE peripheral registers with, which
    /// the bluez5 template lacks: `GattManager1` and `LEAdvertisingManager1`.
    pub fn add_peripheral_managers(&self, adapter: &str) {
        self.add_methods(
            adapter,
            "org.bluez.GattManager1",
            &[("RegisterApplication", "oa{sv}", "", ""), ("UnregisterApplication", "o", "", "")],
        );
        self.add_methods(
            adapter,
            "org.bluez.LEAdvertisingManager1",
            &[("RegisterAdvertisement", "oa{sv}", "", ""), ("UnregisterAdvertisement", "o", "", "")],
        );
        let mut props = PropMap::new();
        props.insert("ActiveInstances".into(), variant(0u8));
        props.insert("SupportedInstances".into(), variant(5u8));
        props.insert("SupportedIncludes".into(), variant(vec!["tx-power".to_string(), "local-name".to_string()]));
        self.add_properties(adapter, "org.bluez.LEAdvertisingManager1", props);
    }

    /// A device on `adapter` that advertises the blemesh service with `rssi`, whose GATT
    /// database (already resolved) holds the blemesh service with an ATT MTU of `att_mtu`.
    pub fn add_blemesh_device(&self, adapter: &str, address: &str, rssi: i16, att_mtu: u16) -> MockDevice {
        let path = self.add_device(adapter, address, "blemesh-peer");
        let mut props = PropMap::new();
        props.insert("UUIDs".into(), variant(vec![gatt::SERVICE.to_string()]));
        props.insert("RSSI".into(), variant(rssi));
        props.insert("ServicesResolved".into(), variant(true));
        self.update_properties(&path, "org.bluez.Device1", props);

        let service = format!("{path}/service0010");
        let mut props = PropMap::new();
        props.insert("UUID".into(), variant(gatt::SERVICE.to_string()));
        props.insert("Primary".into(), variant(true));
        props.insert("Device".into(), variant(dbus::Path::from(path.clone())));
        // dbusmock lists an interface that has only properties after the child nodes in
        // its introspection XML, which the clients' parser rejects (BlueZ lists interfaces
        // first); a method makes it list GattService1 in place. BlueZ has no such method.
        self.add_object(&service, "org.bluez.GattService1", props, &[("MockIntrospectionOrder", "", "", "")]);

        let characteristic = |name: &str, uuid: uuid::Uuid, flags: &[&str]| {
            let char_path = format!("{service}/{name}");
            let mut props = PropMap::new();
            props.insert("UUID".into(), variant(uuid.to_string()));
            props.insert("Service".into(), variant(dbus::Path::from(service.clone())));
            props.insert("Flags".into(), variant(flags.iter().map(|f| f.to_string()).collect::<Vec<_>>()));
            props.insert("MTU".into(), variant(att_mtu));
            props.insert("Notifying".into(), variant(false));
            props.insert("Value".into(), variant(Vec::<u8>::new()));
            self.add_object(
                &char_path,
                "org.bluez.GattCharacteristic1",
                props,
                &[
                    ("ReadValue", "a{sv}", "ay", "ret = dbus.Array([], signature='y')"),
                    ("WriteValue", "aya{sv}", "", ""),
                    ("StartNotify", "", "", ""),
                    ("StopNotify", "", "", ""),
                ],
            );
            char_path
        };
        let write = characteristic("char0011", gatt::WRITE_CHARACTERISTIC, &["write-without-response", "write"]);
        let notify = characteristic("char0013", gatt::NOTIFY_CHARACTERISTIC, &["notify"]);
        MockDevice { path, write, notify }
    }

    /// Makes the mocked device notify `value` on its notify characteristic.
    pub fn notify(&self, device: &MockDevice, value: &[u8]) {
        let mut props = PropMap::new();
        props.insert("Value".into(), variant(value.to_vec()));
        self.update_properties(&device.notify, "org.bluez.GattCharacteristic1", props);
    }

    /// Every object (path → interface → properties) another client on the bus exports
    /// under `path`, and that client's bus name, searched among all connections: where
    /// BlueZ would read a registered GATT application.
    pub fn exported_objects(&self, path: &str) -> Option<(String, ManagedObjects)> {
        let bus = self.conn.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", TIMEOUT);
        let (names,): (Vec<String>,) = bus.method_call("org.freedesktop.DBus", "ListNames", ()).ok()?;
        names.into_iter().filter(|n| n.starts_with(':')).find_map(|name| {
            let proxy = self.conn.with_proxy(name.as_str(), path, TIMEOUT);
            let (objects,): (ManagedObjects,) =
                proxy.method_call("org.freedesktop.DBus.ObjectManager", "GetManagedObjects", ()).ok()?;
            (!objects.is_empty()).then_some((name, objects))
        })
    }

    /// Plays BlueZ handing a central's socket to a GATT application: calls `method`
    /// (`AcquireNotify` or `AcquireWrite`) on the characteristic at `path` of the client
    /// `owner`, for the device at `device` (an object path) with ATT MTU `mtu`. The socket
    /// carries one value per datagram; it is returned blocking.
    pub fn acquire(
        &self,
        owner: &str,
        path: &str,
        method: &str,
        device: &str,
        mtu: u16,
    ) -> std::os::unix::net::UnixDatagram {
        use std::os::fd::FromRawFd;
        let mut options = PropMap::new();
        options.insert("device".into(), variant(dbus::Path::from(device.to_string())));
        options.insert("mtu".into(), variant(mtu));
        options.insert("link".into(), variant("LE".to_string()));
        let proxy = self.conn.with_proxy(owner, path, TIMEOUT);
        let (fd, _mtu): (dbus::arg::OwnedFd, u16) = proxy
            .method_call("org.bluez.GattCharacteristic1", method, (options,))
            .unwrap_or_else(|e| panic!("{method} on {path}: {e}"));
        let fd = fd.into_fd();
        // SAFETY: `into_fd` gave up ownership of this open descriptor, a socket of a pair
        // the application made; it is owned by the returned socket alone.
        let socket = unsafe { std::os::unix::net::UnixDatagram::from_raw_fd(fd) };
        socket.set_nonblocking(false).expect("a blocking socket");
        socket
    }

    /// The properties of `iface` at `path`, searched among all connections.
    pub fn exported_properties(&self, path: &str, iface: &str) -> Option<PropMap> {
        let bus = self.conn.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", TIMEOUT);
        let (names,): (Vec<String>,) = bus.method_call("org.freedesktop.DBus", "ListNames", ()).ok()?;
        names.iter().filter(|n| n.starts_with(':')).find_map(|name| {
            let proxy = self.conn.with_proxy(name.as_str(), path, TIMEOUT);
            let (props,): (PropMap,) = proxy.method_call("org.freedesktop.DBus.Properties", "GetAll", (iface,)).ok()?;
            Some(props)
        })
    }
}

/// Object paths of a device made by [`MockBus::add_blemesh_device`].
#[derive(Clone, Debug)]
pub struct MockDevice {
    /// The `Device1` object.
    pub path: String,
    /// Its write characteristic.
    pub write: String,
    /// Its notify characteristic.
    pub notify: String,
}

impl core::fmt::Debug for MockBus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MockBus").field("address", &self.address).field("bluez", &self.bluez.is_some()).finish()
    }
}

impl Drop for MockBus {
    fn drop(&mut self) {
        for child in self.bluez.iter_mut().chain(core::iter::once(&mut self.daemon)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The bytes of a D-Bus `ay` argument from a call log.
pub fn bytes_of(arg: &Value) -> Vec<u8> {
    arg.0
        .as_iter()
        .map(|items| items.filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect())
        .unwrap_or_default()
}

/// The object path in a D-Bus `o` argument from a call log.
pub fn path_of(arg: &Value) -> String {
    arg.0.as_str().unwrap_or_default().to_string()
}
