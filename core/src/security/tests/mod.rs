//! Tests of the security layer.
