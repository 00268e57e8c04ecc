//! kspm's collectors: the only code that reads the outside world and turns it into a
//! [`kspm_engine::Snapshot`]. Start at [`files::load`] (snapshot directories on disk) or
//! [`live::collect`] (a cluster through its API server, read-only).

pub mod cloud;
pub mod files;
pub mod live;
pub mod vulns;
