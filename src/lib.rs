//! The Spin component: host glue only. Converts the host's HTTP request into the core's, hands it
//! to [`kre_core::App`], and supplies the core's three traits from the host: WASI 0.3 TCP sockets
//! ([`host::net`]), WASI clocks ([`host::clock`]) and Spin's key-value store ([`host::kv`]).
//! Configuration comes from Spin variables ([`host::vars`]).

#![cfg(target_arch = "wasm32")]

mod host;

use std::cell::RefCell;
use std::convert::Infallible;
use std::rc::Rc;

use bytes::Bytes;
use futures::StreamExt;
use http_body::Frame;
use http_body_util::{Either, Full, StreamBody};
use kre_core::http::BodyError;
use kre_core::http::negotiate::JSON;
use kre_core::{ApiError, App};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

type HostApp = App<host::net::WasiConnect, host::clock::WasiClock, host::kv::SpinKv>;

thread_local! {
    // Instance memory is a cache only: hosts reuse an instance for a while, then drop it.
    static APP: RefCell<Option<Rc<HostApp>>> = const { RefCell::new(None) };
}

async fn app() -> Result<Rc<HostApp>, ApiError> {
    if let Some(app) = APP.with(|a| a.borrow().clone()) {
        return Ok(app);
    }
    let config = host::vars::load().await.map_err(|e| ApiError::internal(format!("Invalid configuration: {e}")))?;
    let kv = host::kv::SpinKv::new(config.kv_store.clone());
    let app = App::new(config, host::net::WasiConnect, host::clock::WasiClock, kv)
        .map_err(|e| ApiError::internal(format!("Invalid configuration: {e}")))?;
    let app = Rc::new(app);
    APP.with(|a| *a.borrow_mut() = Some(app.clone()));
    Ok(app)
}

#[http_service]
async fn handle(request: Request) -> impl IntoResponse {
    let response = match app().await {
        Ok(app) => match into_core(request, app.config.max_request_bytes, app.config.body_idle_timeout_ms).await {
            Ok(req) => app.handle(req).await,
            Err(e) => kre_core::http::Response::error(&e, JSON),
        },
        Err(e) => kre_core::http::Response::error(&e, JSON),
    };
    let mut builder = http::Response::builder().status(response.status);
    if !response.body.is_empty() || response.stream.is_some() || response.status != http::StatusCode::NO_CONTENT {
        builder = builder.header(http::header::CONTENT_TYPE, response.content_type);
    }
    if response.stream.is_none() {
        // A known length: the host writes head and body as one piece. Chunked, Spin's server
        // (no TCP_NODELAY) held small answers on keep-alive connections for the client's delayed
        // acknowledgement: ~44 ms each, measured.
        builder = builder.header(http::header::CONTENT_LENGTH, response.body.len());
    }
    for (name, value) in response.headers {
        builder = builder.header(name, value);
    }
    let body = match response.stream {
        // Streamed as the core produces it (v3 streaming produce: one delivery report per record).
        Some(chunks) => {
            Either::Right(StreamBody::new(chunks.map(|c| Ok::<_, Infallible>(Frame::data(Bytes::from(c))))))
        }
        None => Either::Left(Full::new(Bytes::from(response.body))),
    };
    builder.body(body)
}

/// Reads the body (refusing more than `limit` bytes) and keeps what the core needs.
async fn into_core(request: Request, limit: usize, idle_ms: u64) -> Result<kre_core::http::Request, ApiError> {
    let (parts, body) = request.into_parts();
    let stream = body.stream();
    let mut buf = Vec::new();
    let mut body_stream: Option<kre_core::http::BodyStream> = None;
    if kre_core::http::router::streams_body(&parts.method, parts.uri.path()) {
        // Handed over unread: the route consumes it while it answers.
        body_stream = Some(Box::pin(stream.map(|chunk| chunk.map_err(|e| BodyError::Read(format!("{e:?}"))))));
    } else {
        // A body that stops arriving is answered 408, never waited for.
        use kre_core::Runtime;
        let timer = move || -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
            Box::pin(async move { host::clock::WasiClock.sleep(idle_ms).await })
        };
        let mut stream = kre_core::http::idle_limited(
            Box::pin(stream.map(|chunk| chunk.map_err(|e| BodyError::Read(format!("{e:?}"))))),
            idle_ms,
            timer,
        );
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::body_read(&e))?;
            if buf.len() + chunk.len() > limit {
                return Err(ApiError::payload_too_large(limit));
            }
            buf.extend_from_slice(&chunk);
        }
    }
    let scheme = parts.uri.scheme_str().unwrap_or("http").to_owned();
    let authority = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    Ok(kre_core::http::Request {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body: Bytes::from(buf),
        body_stream: RefCell::new(body_stream),
        origin: format!("{scheme}://{authority}"),
    })
}
