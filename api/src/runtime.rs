//! The async runtime the blocking entry points (live and cloud scans and collections, the
//! service, watch) run their collectors on.

/// Starts a multi-threaded async runtime.
pub fn start() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}
