//! Request authentication: a bearer token (`authorization: Bearer <token>`) names the tenant.
//! Tokens are compared by SHA-256 against the configuration and never logged.

use super::config::Config;
use std::sync::Arc;
use tonic::{Request, Status};

/// The tenant a request acts as (set by [`interceptor`]).
#[derive(Debug, Clone)]
pub struct TenantName(pub String);

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The interceptor: attaches the caller's tenant or refuses with `Unauthenticated`.
pub fn interceptor(
    config: Arc<Config>,
) -> impl Fn(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |mut req: Request<()>| {
        let header = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        let token = match header {
            None => {
                return Err(Status::unauthenticated(
                    "missing credentials: send `authorization: Bearer <token>`",
                ));
            }
            Some(h) => match bearer_token(h) {
                Some(t) => t,
                None => {
                    return Err(Status::unauthenticated(
                        "the authorization header must be `Bearer <token>`",
                    ));
                }
            },
        };
        match config.tenant_for_token(token) {
            Some(t) => {
                req.extensions_mut().insert(TenantName(t.name.clone()));
                Ok(req)
            }
            None => Err(Status::unauthenticated("invalid token")),
        }
    }
}
