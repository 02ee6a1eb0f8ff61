//! The node's session calls: misuse is a clear error, the configuration's session limits
//! are checked against the frame, and a lone node plays nothing until a coordinator exists.

use crate::session::{SessionConfig, SessionId, SubmitError};
use crate::{Config, Error, Instant, Node, NodeId, Output};

fn node_with(adjust: impl FnOnce(Config) -> Config) -> Node {
    Node::new(adjust(Config::new(NodeId(1), 5)), Instant::ZERO).unwrap()
}

#[test]
fn session_calls_out_of_bounds_are_clear_errors() {
    let mut n = node_with(|c| Config { max_sessions: 2, ..c });
    let t = Instant::from_millis(10);
    assert_eq!(n.submit(t, SessionId(1), b"x"), Err(Error::UnknownSession(SessionId(1))));
    assert_eq!(n.leave_session(t, SessionId(1)), Err(Error::UnknownSession(SessionId(1))));
    n.join_session(t, SessionId(1), b"p").unwrap();
    assert_eq!(n.submit(t, SessionId(1), b"x"), Err(Error::Session(SubmitError::NotJoined)), "joining, not yet a player");
    let long = [0u8; 17];
    assert_eq!(n.join_session(t, SessionId(2), &long), Err(Error::Session(SubmitError::TooLarge)));
    n.join_session(t, SessionId(3), b"p").unwrap();
    assert_eq!(n.join_session(t, SessionId(4), b"p"), Err(Error::TooManySessions { max: 2 }));
    assert_eq!(n.sessions().count(), 2);
    // Leaving makes a session idle; an idle one makes room for the next.
    n.leave_session(t, SessionId(3)).unwrap();
    n.join_session(t, SessionId(4), b"p").unwrap();
    assert!(n.session(SessionId(3)).is_none() && n.session(SessionId(4)).is_some());
}

#[test]
fn a_join_waits_for_a_coordinator_and_nothing_is_sent_without_neighbours() {
    let mut n = node_with(|c| c);
    n.join_session(Instant::from_millis(10), SessionId(1), b"p").unwrap();
    loop {
        match n.poll_output() {
            Output::Timeout(_) => break,
            Output::Transmit(_) | Output::Sequenced { .. } => panic!("nothing to send to, nothing sequenced"),
            _ => {}
        }
    }
    assert!(!n.session(SessionId(1)).unwrap().is_member());
}

#[test]
fn session_limits_that_do_not_fit_a_frame_are_refused_by_name() {
    let session = SessionConfig { max_payload: 2000, ..SessionConfig::default() };
    let err = Node::new(Config { session, ..Config::new(NodeId(1), 5) }, Instant::ZERO).unwrap_err();
    assert_eq!(err.field, "session");
    let session = SessionConfig { max_players: 200, max_info: 16, ..SessionConfig::default() };
    assert_eq!(Node::new(Config { session, ..Config::new(NodeId(1), 5) }, Instant::ZERO).unwrap_err().field, "session");
    let session = SessionConfig { log_entries: 0, ..SessionConfig::default() };
    assert_eq!(Node::new(Config { session, ..Config::new(NodeId(1), 5) }, Instant::ZERO).unwrap_err().field, "log_entries");
    let err = Node::new(Config { max_sessions: 0, ..Config::new(NodeId(1), 5) }, Instant::ZERO).unwrap_err();
    assert_eq!(err.field, "max_sessions");
}
