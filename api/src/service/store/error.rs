//! Why the database could not answer, in the kinds a caller acts on differently: retry later
//! (`Unavailable`), upgrade (`Newer`), or report a fault (`Failed`).

/// A store error.
#[derive(Debug)]
pub enum StoreError {
    /// The database could not be reached, dropped the connection, was shutting down or had no
    /// connection free in time: worth trying again (gRPC `UNAVAILABLE`).
    Unavailable(String),
    /// The database holds history a newer kspm wrote (schema version `found`; this one knows up
    /// to `known`): this one neither reads nor writes it.
    Newer {
        /// The newest schema version applied.
        found: i64,
        /// The newest this kspm knows.
        known: i64,
    },
    /// A commit abandoned on purpose ([`super::Store::abandon_commits`]).
    Abandoned,
    /// A statement the database refused, or a stored body missing, unreadable or unwritable
    /// (gRPC `INTERNAL`).
    Failed(String),
}

/// What a store operation gives.
pub type StoreResult<T> = Result<T, StoreError>;

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Unavailable(why) => write!(f, "database unavailable: {why}"),
            StoreError::Newer { found, known } => write!(
                f,
                "the database holds history schema version {found}, written by a newer kspm; \
                 this one knows versions up to {known}: run the newer kspm on every replica"
            ),
            StoreError::Abandoned => f.write_str("scan abandoned (fault injected)"),
            StoreError::Failed(why) => write!(f, "database: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for String {
    fn from(e: StoreError) -> String {
        e.to_string()
    }
}

/// SQLSTATE classes and codes of PostgreSQL that say the server cannot serve now: connection
/// exceptions (class 08), too many connections (53300), shutting down or starting (57P01–57P03),
/// and SQLite's busy and locked results (5, 6; extended codes keep the primary in the low byte).
fn retryable(code: &str) -> bool {
    if code.starts_with("08") || matches!(code, "53300" | "57P01" | "57P02" | "57P03") {
        return true;
    }
    code.parse::<i64>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        let retry = match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(d) => d.code().is_some_and(|c| retryable(&c)),
            _ => false,
        };
        if retry {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Failed(e.to_string())
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> StoreError {
        StoreError::Failed(format!("a stored body: {e}"))
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> StoreError {
        StoreError::Failed(format!("a stored body: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_worth_retrying() {
        for unavailable in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ] {
            assert!(matches!(
                StoreError::from(unavailable),
                StoreError::Unavailable(_)
            ));
        }
        for failed in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
        ] {
            assert!(matches!(StoreError::from(failed), StoreError::Failed(_)));
        }
        // PostgreSQL: connection exceptions and a server shutting down; SQLite: busy, locked.
        for code in [
            "08006", "08001", "53300", "57P01", "57P03", "5", "261", "517", "6",
        ] {
            assert!(retryable(code), "{code}");
        }
        // A unique violation, a syntax error, SQLite's constraint and I/O errors.
        for code in ["23505", "42601", "19", "2067", "10"] {
            assert!(!retryable(code), "{code}");
        }
    }

    #[test]
    fn messages_read_as_before() {
        assert_eq!(StoreError::Failed("x".into()).to_string(), "database: x");
        assert!(StoreError::Newer {
            found: 13,
            known: 12
        }
        .to_string()
        .contains("schema version 13, written by a newer kspm"));
    }
}
