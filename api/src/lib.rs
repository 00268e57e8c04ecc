//! kspm's service layer: the scan pipeline ([`pipeline::Source`], [`pipeline::scan`]) the CLI,
//! `kspm diff` and the service run, the continuous watch engine ([`watch`]), and `kspm serve`
//! ([`service`]): the gRPC API, the leased scan scheduler and scan history in SQLite or
//! PostgreSQL.

pub mod cloud;
pub mod diff;
pub mod html;
pub mod pipeline;
pub mod plan;
pub mod runtime;
pub mod service;
pub mod watch;
pub mod webhook;
