//! Why a request failed on the service's side, and how each surface answers it: a database
//! that cannot answer now is worth retrying (gRPC `UNAVAILABLE`, HTTP 503), anything else is
//! the service's fault (gRPC `INTERNAL`, HTTP 500). The cause is logged, never shown: it may
//! name the server's files or database.

use super::store::StoreError;

/// Why a request failed on the service's side.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The store could not answer.
    Store(StoreError),
    /// Anything else (an evaluation that failed, a stored body that does not read).
    Other(String),
}

impl Failure {
    /// Whether the same request may succeed later unchanged (the database could not answer
    /// now).
    pub fn retryable(&self) -> bool {
        matches!(self, Failure::Store(StoreError::Unavailable(_)))
    }

    /// Logs it, with its cause, as a failure of `what` (`request`, `web request`).
    pub fn log(&self, what: &str) {
        match self {
            Failure::Store(e) if self.retryable() => {
                tracing::warn!(error = %e, "{what} failed: the database is unavailable")
            }
            Failure::Store(e) => tracing::error!(error = %e, "{what} failed"),
            Failure::Other(e) => tracing::error!(error = %e, "{what} failed"),
        }
    }

    /// What a client is told (never the cause).
    pub fn message(&self) -> &'static str {
        if self.retryable() {
            "the history database is unavailable; try again"
        } else {
            "internal error (see the service log)"
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Failure {
        Failure::Other(e)
    }
}

impl From<Failure> for tonic::Status {
    fn from(f: Failure) -> tonic::Status {
        f.log("request");
        if f.retryable() {
            tonic::Status::unavailable(f.message())
        } else {
            tonic::Status::internal(f.message())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_database_is_retried_and_nothing_else_is() {
        let down: Failure = StoreError::from(sqlx::Error::PoolTimedOut).into();
        assert_eq!(tonic::Status::from(down).code(), tonic::Code::Unavailable);
        let refused: Failure = StoreError::Failed("no such table".into()).into();
        let status = tonic::Status::from(refused);
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(
            !status.message().contains("no such table"),
            "the cause is not shown"
        );
        let other: Failure = String::from("evaluation failed: /srv/x").into();
        let status = tonic::Status::from(other);
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("/srv"));
    }
}
