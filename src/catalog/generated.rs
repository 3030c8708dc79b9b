//! Generated from ../shared/pgtap-catalog.json. Do not edit (stub until generated).
use super::Function;
pub static FUNCTIONS: &[Function] = &[];
