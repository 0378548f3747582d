//! Pure types and logic of the kernel: no I/O here, so everything is unit- and property-tested.

pub mod area;
pub mod audit;
pub mod clock;
pub mod consent;
pub mod geometry;
pub mod household;
pub mod identifier;
pub mod ids;
pub mod org;
pub mod outbox;
pub mod person;
pub mod policy;
pub mod residence;
pub mod token;

/// Identifiers are opaque text (ULID-shaped), identical on SQLite and PostgreSQL.
pub type Id = String;
