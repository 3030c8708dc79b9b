//! Overload resolution (stub).
