//! The HTTP face of the core: request/response types the host converts to and from, the route
//! table, content negotiation. Errors become responses in [`crate::error`] only.

pub mod json_stream;
pub mod negotiate;
pub mod router;

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

use crate::error::ApiError;

/// A request body arriving in pieces (routes that stream, see [`router::streams_body`]).
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>>>>;

pub use crate::error::BodyError;

/// `WWW-Authenticate` of a 401 (passthrough logins: Basic or a bearer token).
pub const CHALLENGE: &str = "Basic realm=\"kafka-rest-edge\", Bearer realm=\"kafka-rest-edge\"";

/// A response body produced in pieces, while the request may still be arriving.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Vec<u8>>>>;

pub struct Request {
    pub method: http::Method,
    /// Raw (still percent-encoded) path.
    pub path: String,
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    /// The whole body, for routes that do not stream.
    pub body: Bytes,
    /// The body as it arrives, for routes that stream (taken once by the handler).
    pub body_stream: RefCell<Option<BodyStream>>,
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
            (crate::percent::percent_decode(k).as_deref() == Some(name))
                .then(|| crate::percent::percent_decode(v).unwrap_or_default())
        })
    }
}

pub struct Response {
    pub status: http::StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
    /// When set, the body is this stream (and `body` is empty).
    pub stream: Option<ChunkStream>,
    /// Headers beyond Content-Type (e.g. `Allow` on a 405).
    pub headers: Vec<(http::HeaderName, String)>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("streaming", &self.stream.is_some())
            .finish()
    }
}

impl Response {
    pub fn json(status: http::StatusCode, content_type: &str, value: &impl serde::Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                Response { status, content_type: content_type.to_owned(), body, stream: None, headers: Vec::new() }
            }
            Err(e) => Response::error(&ApiError::internal(format!("cannot encode the response: {e}")), content_type),
        }
    }

    pub fn empty(status: http::StatusCode, content_type: &str) -> Self {
        Response { status, content_type: content_type.to_owned(), body: Vec::new(), stream: None, headers: Vec::new() }
    }

    pub fn streaming(status: http::StatusCode, content_type: &str, stream: ChunkStream) -> Self {
        Response {
            status,
            content_type: content_type.to_owned(),
            body: Vec::new(),
            stream: Some(stream),
            headers: Vec::new(),
        }
    }

    /// An error as the reference shows it, in the content type of the API that failed.
    pub fn error(err: &ApiError, content_type: &str) -> Self {
        // RFC 9110 §15.5.6: a 405 lists the methods the resource has.
        let mut headers = err.allowed().map(|a| vec![(http::header::ALLOW, a.to_owned())]).unwrap_or_default();
        // RFC 9110 §11.6.1: a 401 names the schemes that would be accepted.
        if err.status() == http::StatusCode::UNAUTHORIZED {
            headers.push((http::header::WWW_AUTHENTICATE, CHALLENGE.to_owned()));
        }
        Response {
            status: err.status(),
            content_type: content_type.to_owned(),
            body: err.body(),
            stream: None,
            headers,
        }
    }

    /// The whole body, draining a stream if there is one (tests and non-streaming hosts).
    pub async fn collect(mut self) -> Vec<u8> {
        use futures::StreamExt;
        if let Some(mut s) = self.stream.take() {
            while let Some(chunk) = s.next().await {
                self.body.extend_from_slice(&chunk);
            }
        }
        self.body
    }
}

/// `body` with an idle limit: when no piece arrives before `timer()` fires, the stream yields one
/// error and ends (a body that stops arriving never holds a request or its instance).
pub fn idle_limited(
    body: BodyStream,
    idle_ms: u64,
    timer: impl Fn() -> Pin<Box<dyn std::future::Future<Output = ()>>> + 'static,
) -> BodyStream {
    use futures::StreamExt;
    use futures::future::{Either, select};
    Box::pin(futures::stream::unfold(Some(body), move |state| {
        let sleep = timer();
        async move {
            let mut body = state?;
            match select(body.next(), sleep).await {
                Either::Left((Some(item), _)) => Some((item, Some(body))),
                Either::Left((None, _)) => None,
                Either::Right(_) => Some((Err(BodyError::Idle(idle_ms)), None)),
            }
        }
    }))
}

/// A stream that also drives the future producing its items: the producer pushes into a channel,
/// the host pulls from this stream, and no spawn is needed.
pub struct Driven<F: std::future::Future<Output = ()>> {
    driver: Option<Pin<Box<F>>>,
    items: futures::channel::mpsc::Receiver<Vec<u8>>,
}

impl<F: std::future::Future<Output = ()>> Driven<F> {
    pub fn new(driver: F, items: futures::channel::mpsc::Receiver<Vec<u8>>) -> Self {
        Driven { driver: Some(Box::pin(driver)), items }
    }
}

impl<F: std::future::Future<Output = ()>> Stream for Driven<F> {
    type Item = Vec<u8>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        if let Some(d) = self.driver.as_mut()
            && d.as_mut().poll(cx).is_ready()
        {
            self.driver = None;
        }
        // The driver holds the sender: once it is done, the channel ends after its last item.
        Pin::new(&mut self.items).poll_next(cx)
    }
}
