//! Pure types and logic of alerts: no I/O.

pub mod alert;
pub mod cap;
pub mod feed;
pub mod report;
pub mod screen;
pub mod target;
