//! Neighbours: per-link handshake, heartbeats, quality estimation, failure detection, and the
//! registry of every known node.

pub(crate) mod arq;
pub mod estimator;
pub mod link;
pub mod registry;

use alloc::vec::Vec;

pub use estimator::LinkEstimator;
pub use link::{LinkState, LinkStatus};
pub use registry::{Capabilities, NodeInfo, NodeRegistry, NodeStatus};

use crate::{LinkId, NodeId};

/// The links that are up, at most [`crate::Config::max_links`]. Room for a link (about
/// 480 bytes) is made when one comes up beyond the most ever up at once, not for
/// `max_links` up front.
#[derive(Debug, Default)]
pub(crate) struct LinkTable {
    links: Vec<LinkState>,
}

impl LinkTable {
    pub(crate) fn new() -> Self {
        LinkTable::default()
    }

    pub(crate) fn len(&self) -> usize {
        self.links.len()
    }

    pub(crate) fn insert(&mut self, state: LinkState) {
        if self.links.len() == self.links.capacity() {
            self.links.reserve_exact(1);
        }
        self.links.push(state);
    }

    pub(crate) fn remove(&mut self, link: LinkId) -> Option<LinkState> {
        let i = self.index(link)?;
        Some(self.links.swap_remove(i))
    }

    pub(crate) fn index(&self, link: LinkId) -> Option<usize> {
        self.links.iter().position(|l| l.link == link)
    }

    pub(crate) fn get(&self, link: LinkId) -> Option<&LinkState> {
        self.links.iter().find(|l| l.link == link)
    }

    pub(crate) fn get_mut(&mut self, link: LinkId) -> Option<&mut LinkState> {
        self.links.iter_mut().find(|l| l.link == link)
    }

    pub(crate) fn at(&self, i: usize) -> &LinkState {
        &self.links[i]
    }

    pub(crate) fn at_mut(&mut self, i: usize) -> &mut LinkState {
        &mut self.links[i]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &LinkState> {
        self.links.iter()
    }

    /// Number of confirmed links.
    pub(crate) fn confirmed(&self) -> usize {
        self.links.iter().filter(|l| l.is_confirmed()).count()
    }

    /// Index of the confirmed link to `node`, if it is a neighbour.
    pub(crate) fn index_of_peer(&self, node: NodeId) -> Option<usize> {
        self.links.iter().position(|l| l.is_confirmed() && l.peer == node)
    }

    /// The confirmed link to `node`, if it is a neighbour.
    pub(crate) fn link_to(&self, node: NodeId) -> Option<&LinkState> {
        self.links.iter().find(|l| l.is_confirmed() && l.peer == node)
    }
}
