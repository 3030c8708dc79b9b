//! The stages and the channels between them.
