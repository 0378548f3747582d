//! The alerts module's use cases shared by its pages, its JSON API and its device messages —
//! publishing (CAP in, the web's compose and end forms), acknowledgements and receipts, what is
//! in force for a screen, the drill report — and those offered to the rest of machi
//! (`for_others`). Each checks the policy, reads and writes through `store`, and records what it
//! did in the audit log in the same transaction as the change or read. `http` calls downwards
//! into here, never the other way.

pub mod acknowledge;
pub mod for_others;
pub mod in_force;
pub mod publish;
pub mod report;
pub mod sources;
