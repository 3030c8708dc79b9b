//! A counting global allocator (stub; see the pipeline issue).
