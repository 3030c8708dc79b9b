//! File discovery over one or more roots with the `ignore` crate's parallel walker.
