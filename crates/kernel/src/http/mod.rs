//! The kernel's HTTP room: the one mapping from errors to responses, the extractors every
//! module uses (JSON body, query, the acting person), and the kernel's JSON API.

pub mod api;
pub mod error;
pub mod extract;
pub mod pages;
pub mod residence;

pub use error::{ErrorContext, ErrorPayload};
pub use extract::{ApiJson, ApiQuery, Auth};
