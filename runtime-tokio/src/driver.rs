//! The driver task: one tokio task owns the node and runs the drain contract.
//!
//! It waits with `tokio::select!` for the first of: a command from a handle, an event from
//! the transport, or the node's next deadline; feeds it with the current time; then drains
//! the node's outputs ([`DriverCore::drain`]). Time is `tokio::time::Instant` (so tests can
//! pause and advance it) mapped to core microseconds since the driver started.

use blemesh_core::Config;
use blemesh_runtime::{
    Clock, Command, DriverCore, DriverOptions, Error, Flow, Handle, LinkEvent, Prepared, Subscription, Transport,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tracing::Instrument;

/// Starts a driver for a node with `config` on `transport`, with default options.
///
/// Returns the handle and a first subscription, made before the driver runs so that no event
/// is missed. Must be called inside a tokio runtime.
pub fn spawn(config: Config, transport: Transport) -> Result<(Handle, Subscription), Error> {
    spawn_with(config, transport, DriverOptions::default())
}

/// [`spawn`] with explicit [`DriverOptions`].
pub fn spawn_with(config: Config, transport: Transport, options: DriverOptions) -> Result<(Handle, Subscription), Error> {
    let node_id = config.node_id;
    let p = Prepared::new(config, transport, &options, Instant::now)?;
    let span = tracing::info_span!("driver", node = %node_id);
    tokio::spawn(run(p.core, p.clock, p.commands, p.links, options).instrument(span));
    Ok((p.handle, p.subscription))
}

async fn run(
    mut core: DriverCore,
    mut clock: Clock<Instant>,
    mut commands: mpsc::Receiver<Command>,
    mut links: mpsc::Receiver<LinkEvent>,
    options: DriverOptions,
) {
    tracing::info!("driver started");
    let mut links_open = true;
    let mut deadline = core.drain();
    let mut waiters = Vec::new();
    loop {
        let wake = clock.runtime_time(deadline);
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => {
                    if let Flow::Shutdown(w) = core.on_command(clock.core_time(Instant::now()), command) {
                        waiters.push(w);
                        break;
                    }
                }
                None => {
                    tracing::info!("every handle dropped");
                    break;
                }
            },
            event = links.recv(), if links_open => match event {
                Some(event) => core.on_link_event(clock.core_time(Instant::now()), event),
                None => {
                    tracing::warn!("transport closed its event channel");
                    links_open = false;
                }
            },
            () = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                core.on_timeout(clock.core_time(Instant::now()));
            }
        }
        deadline = core.drain();
    }
    shutdown(core, clock, commands, links, links_open, options, waiters).await;
}

/// Graceful shutdown: queued commands, then `linger` of timers and inbound frames so that
/// scheduled relays go out, then the transport is closed and the waiters answered.
async fn shutdown(
    mut core: DriverCore,
    mut clock: Clock<Instant>,
    mut commands: mpsc::Receiver<Command>,
    mut links: mpsc::Receiver<LinkEvent>,
    mut links_open: bool,
    options: DriverOptions,
    mut waiters: Vec<oneshot::Sender<()>>,
) {
    tracing::info!(linger = ?options.linger, "driver shutting down");
    core.finish_commands(clock.core_time(Instant::now()), &mut commands, &mut waiters);
    let mut deadline = core.drain();
    let stop = Instant::now() + options.linger;
    loop {
        let wake = clock.runtime_time(deadline).map_or(stop, |w| w.min(stop));
        tokio::select! {
            event = links.recv(), if links_open => match event {
                Some(event) => core.on_link_event(clock.core_time(Instant::now()), event),
                None => links_open = false,
            },
            () = sleep_until(wake) => {
                if Instant::now() >= stop {
                    break;
                }
                core.on_timeout(clock.core_time(Instant::now()));
            }
        }
        deadline = core.drain();
    }
    core.close();
    drop(core); // closes the event stream
    for w in waiters {
        let _ = w.send(());
    }
}
