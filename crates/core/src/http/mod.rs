//! The HTTP face of the core: request/response types the host converts to and from, the route
//! table, content negotiation. Errors become responses in [`crate::error`] only.

pub mod negotiate;
pub mod router;

use bytes::Bytes;

use crate::error::ApiError;

#[derive(Clone, Debug)]
pub struct Request {
    pub method: http::Method,
    /// Raw (still percent-encoded) path.
    pub path: String,
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// `scheme://authority` the client used, for links when no base URL is configured.
    pub origin: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.as_deref()?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (router::percent_decode(k).as_deref() == Some(name)).then(|| router::percent_decode(v).unwrap_or_default())
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, content_type: &str, value: &impl serde::Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Response { status, content_type: content_type.to_owned(), body },
            Err(e) => Response::error(&ApiError::internal(format!("cannot encode the response: {e}")), content_type),
        }
    }

    pub fn empty(status: u16, content_type: &str) -> Self {
        Response { status, content_type: content_type.to_owned(), body: Vec::new() }
    }

    /// An error as the reference shows it, in the content type of the API that failed.
    pub fn error(err: &ApiError, content_type: &str) -> Self {
        Response { status: err.status, content_type: content_type.to_owned(), body: err.body() }
    }
}
