//! The driver task for async-std: the same loop as the tokio driver (wait for a command,
//! a transport event or the node's deadline; feed it; drain), with `futures_lite`'s `or`
//! in place of `tokio::select!` and `std::time::Instant` as the clock.

use std::time::Instant;

use async_std::task;
use blemesh_core::Config;
use blemesh_runtime::{
    Clock, Command, DriverCore, DriverOptions, Error, Flow, Handle, LinkEvent, Prepared, Subscription, Transport,
};
use futures_lite::FutureExt;
use futures_lite::future::pending;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

/// Starts a driver for a node with `config` on `transport`, with default options. Returns
/// the handle and a first subscription made before the driver runs.
pub fn spawn(config: Config, transport: Transport) -> Result<(Handle, Subscription), Error> {
    spawn_with(config, transport, DriverOptions::default())
}

/// [`spawn`] with explicit [`DriverOptions`].
pub fn spawn_with(config: Config, transport: Transport, options: DriverOptions) -> Result<(Handle, Subscription), Error> {
    let node_id = config.node_id;
    let p = Prepared::new(config, transport, &options, Instant::now)?;
    let span = tracing::info_span!("driver", node = %node_id);
    task::spawn(run(p.core, p.clock, p.commands, p.links, options).instrument(span));
    Ok((p.handle, p.subscription))
}

/// The first input to arrive.
enum Input {
    Command(Option<Command>),
    Link(Option<LinkEvent>),
    Timeout,
}

/// Waits for the first input; `commands` is `None` while shutting down.
async fn next_input(
    commands: Option<&mut mpsc::Receiver<Command>>,
    links: &mut mpsc::Receiver<LinkEvent>,
    links_open: bool,
    wake: Option<Instant>,
) -> Input {
    let command = async {
        match commands {
            Some(c) => Input::Command(c.recv().await),
            None => pending().await,
        }
    };
    let link = async { if links_open { Input::Link(links.recv().await) } else { pending().await } };
    let timer = async {
        match wake {
            Some(at) => {
                task::sleep(at.saturating_duration_since(Instant::now())).await;
                Input::Timeout
            }
            None => pending().await,
        }
    };
    command.or(link).or(timer).await
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
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        let wake = clock.runtime_time(deadline);
        match next_input(Some(&mut commands), &mut links, links_open, wake).await {
            Input::Command(Some(command)) => {
                if let Flow::Shutdown(w) = core.on_command(clock.core_time(Instant::now()), command) {
                    waiters.push(w);
                    break;
                }
            }
            Input::Command(None) => {
                tracing::info!("every handle dropped");
                break;
            }
            Input::Link(Some(event)) => core.on_link_event(clock.core_time(Instant::now()), event),
            Input::Link(None) => {
                tracing::warn!("transport closed its event channel");
                links_open = false;
            }
            Input::Timeout => core.on_timeout(clock.core_time(Instant::now())),
        }
        deadline = core.drain();
    }

    // Graceful shutdown, as in the tokio driver: queued commands, `linger` of timers and
    // inbound frames, then close.
    tracing::info!(linger = ?options.linger, "driver shutting down");
    core.finish_commands(clock.core_time(Instant::now()), &mut commands, &mut waiters);
    deadline = core.drain();
    let stop = Instant::now() + options.linger;
    loop {
        let wake = clock.runtime_time(deadline).map_or(stop, |w| w.min(stop));
        match next_input(None, &mut links, links_open, Some(wake)).await {
            Input::Link(Some(event)) => core.on_link_event(clock.core_time(Instant::now()), event),
            Input::Link(None) => links_open = false,
            Input::Timeout if Instant::now() >= stop => break,
            Input::Timeout => core.on_timeout(clock.core_time(Instant::now())),
            Input::Command(_) => {}
        }
        deadline = core.drain();
    }
    core.close();
    drop(core);
    for w in waiters {
        let _ = w.send(());
    }
}
