//! kspm's engine: pure, synchronous evaluation of a [`Snapshot`] into a [`Report`].
//!
//! Start at [`evaluate::evaluate`]. Objects come from [`parse`] (text to objects, where Secret
//! values are dropped), are indexed by [`inventory`], graded by the [`checks`] catalogue and
//! rendered by [`render`]. Nothing here does I/O.

pub mod calico;
pub mod checks;
pub mod civil;
pub mod cloud;
pub mod compliance;
pub mod controls;
pub mod credentials;
pub mod drift;
pub mod evaluate;
pub mod exposure;
pub mod finding;
pub mod frameworks;
pub mod graph;
pub mod host_path;
pub mod image;
pub mod incremental;
pub mod inventory;
pub mod netpol;
pub mod object;
pub mod options;
pub mod parallel;
pub mod parse;
pub mod pointer;
pub mod policy_export;
pub mod pss;
pub mod rbac;
pub mod redact;
pub mod render;
pub mod report;
pub mod selector;
pub mod severity;
pub mod snapshot;
pub mod validate;
pub mod vulns;
pub mod yaml;

pub use evaluate::{
    assemble, assemble_fleet, assemble_fleet_graph, evaluate, evaluate_cluster_result,
    evaluate_with,
};
pub use object::Object;
pub use options::ScanOptions;
pub use parse::LoadError;
pub use report::{Finding, Report};
pub use severity::Severity;
pub use snapshot::{ClusterInfo, ClusterSnapshot, Provider, Snapshot};
