//! The safety module's use cases shared by its pages, its JSON API, its device messages and
//! its jobs. `http` and `jobs` call downwards into here, never into each other.

pub mod asking;
