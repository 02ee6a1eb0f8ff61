//! Coordinator election.
