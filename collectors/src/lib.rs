//! kspm's collectors: the only code that reads the outside world and turns it into a
//! [`kspm_engine::Snapshot`]. Start at [`files::load`] (snapshot directories on disk).

pub mod files;
