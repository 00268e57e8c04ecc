//! kspm's service layer. Today it holds the scan pipeline ([`pipeline::scan_paths`]) that the CLI
//! runs and the service scheduler will run on its interval; the gRPC server, scheduler and store
//! grow here (see the README's status table).

pub mod pipeline;
pub mod watch;
