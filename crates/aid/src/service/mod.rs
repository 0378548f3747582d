//! The aid module's use cases shared by its pages, its JSON API and its jobs. `http` and `jobs`
//! call downwards into here, never into each other.

pub mod notices;
