//! machi's integration tests, in one binary (one link, shared helpers in `common`): each module's
//! stories run through HTTP against a real database — SQLite by default, PostgreSQL when
//! `MACHI_TEST_DATABASE` is a postgres:// URL (the test script runs both).
#![allow(dead_code)]

#[macro_use]
mod common;

mod aid;
mod alerts;
mod api;
mod hardening;
mod kit;
mod module;
mod modules;
mod notices;
mod safety;
mod watch;
mod web;
