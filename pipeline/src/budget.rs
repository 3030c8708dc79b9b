//! The shared memory budget (see crate docs).
