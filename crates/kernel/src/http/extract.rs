//! Extractors: bodies and queries whose rejections become catalog errors (400 with the
//! parser's words, 413 when too large), and the acting person from a Bearer token.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::model::policy::{Actor, Policy, may};
use crate::{Error, Kernel, Result};

/// JSON body; a malformed or oversize body is a 400 / 413 in the catalog's words.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::BytesRejection(r)) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(Error::TooLarge)
            }
            Err(e) => Err(Error::invalid_with("bad-json", vec![("detail", e.body_text())])),
        }
    }
}

pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| Error::invalid_with("query-invalid", vec![("detail", e.body_text())]))
    }
}

/// The acting person. No credentials → anonymous; a bad or revoked token → 401.
#[derive(Debug, Clone)]
pub struct Auth(pub Actor);

impl Auth {
    /// Ask the policy; refuse with 401 for anonymous visitors and 403 for everyone else.
    pub fn require<A: Policy>(&self, action: A, resource: &A::Resource) -> Result<()> {
        if may(&self.0, action, resource) {
            Ok(())
        } else if self.0.person_id.is_none() {
            Err(Error::unauthorized("unauthorized"))
        } else {
            Err(Error::Forbidden)
        }
    }

    /// The acting person's id, or 401.
    pub fn person_id(&self) -> Result<&str> {
        self.0
            .person_id
            .as_deref()
            .ok_or_else(|| Error::unauthorized("unauthorized"))
    }
}

impl FromRequestParts<Kernel> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, k: &Kernel) -> Result<Self, Self::Rejection> {
        if let Some(actor) = parts.extensions.get::<Actor>() {
            return Ok(Auth(actor.clone()));
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let actor = match header {
            None => Actor::anonymous(),
            Some(h) => {
                let secret = h
                    .strip_prefix("Bearer ")
                    .map(str::trim)
                    .ok_or_else(|| Error::unauthorized("token-invalid"))?;
                crate::store::accounts::actor_for_token(k, secret)
                    .await?
                    .ok_or_else(|| Error::unauthorized("token-invalid"))?
            }
        };
        parts.extensions.insert(actor.clone());
        Ok(Auth(actor))
    }
}
