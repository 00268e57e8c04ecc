//! Why the database could not answer, in the kinds a caller acts on differently: retry later
//! (`Unavailable`), upgrade (`Newer`), or report a fault (`Failed`).

/// A store error.
#[derive(Debug, Clone)]
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

/// Whether a PostgreSQL SQLSTATE says the server cannot serve now, or the statement lost a
/// race it may win when tried again: connection exceptions (class 08), too many connections
/// (53300), shutting down or starting (57P01–57P03), serialization failure and deadlock
/// (40001, 40P01). Anything else (a missing privilege, a bad value) stays as it is.
fn postgres_retryable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08")
        || matches!(
            sqlstate,
            "53300" | "57P01" | "57P02" | "57P03" | "40001" | "40P01"
        )
}

/// Whether a SQLite result code says the database is busy or locked (5, 6; an extended code
/// keeps its primary code in the low byte).
fn sqlite_retryable(code: &str) -> bool {
    code.parse::<i64>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        let retry = match &e {
            // The connection failed or none was free in time. (A TLS failure is a
            // configuration to fix, not a wait.)
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(d) => match d.code() {
                Some(code)
                    if d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                        .is_some() =>
                {
                    postgres_retryable(&code)
                }
                Some(code) if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
                    sqlite_retryable(&code)
                }
                _ => false,
            },
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
        // PostgreSQL: connection exceptions, a server shutting down or starting, lost races.
        for code in [
            "08006", "08001", "53300", "57P01", "57P03", "40001", "40P01",
        ] {
            assert!(postgres_retryable(code), "{code}");
        }
        // A unique violation, a syntax error, a missing privilege, a bad character — the last
        // two read as SQLite's busy and locked were their digits taken for a SQLite code.
        for code in ["23505", "42601", "42501", "22021", "22022"] {
            assert!(!postgres_retryable(code), "{code}");
        }
        // SQLite: busy, locked and their extended codes; a constraint, a corrupt file, I/O.
        for code in ["5", "261", "517", "6", "262"] {
            assert!(sqlite_retryable(code), "{code}");
        }
        for code in ["19", "2067", "11", "10"] {
            assert!(!sqlite_retryable(code), "{code}");
        }
        assert!(matches!(
            StoreError::from(sqlx::Error::Tls("unknown CA".into())),
            StoreError::Failed(_)
        ));
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
