//! kspm's service layer: the scan pipeline ([`pipeline::scan_paths`]) the CLI runs, the
//! continuous watch engine ([`watch`]), and `kspm serve` ([`service`]): the gRPC API, the leased
//! scan scheduler and scan history in SQLite or PostgreSQL.

pub mod cloud;
pub mod diff;
pub mod html;
pub mod pipeline;
pub mod plan;
pub mod service;
pub mod watch;
pub mod webhook;
