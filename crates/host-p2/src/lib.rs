//! The WASI 0.2 component: the same core as the WASI 0.3 one (`src/` at the workspace root),
//! exporting `wasi:http/incoming-handler@0.2` for the Spin hosts users have today (3.x, 4.0.x,
//! SpinKube's shim) and other WASI 0.2 hosts. Each request runs in wstd's single-threaded reactor
//! over `wasi:io/poll`; bodies are `wasi:io` streams in both directions, so streaming produce and
//! the streaming consume extension work as on WASI 0.3.
//!
//! WASI 0.2 hosts give each request a fresh instance (or may reuse one, which nothing here relies
//! on): the [`App`] lives for one request, its connections with it.

#![cfg(target_arch = "wasm32")]

mod host;

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use futures::StreamExt;
use kre_core::http::BodyError;
use kre_core::http::negotiate::JSON;
use kre_core::{ApiError, App, Runtime};
use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam, Scheme,
};
use wasip2::io::streams::StreamError;
use wstd::io::AsyncOutputStream;
use wstd::runtime::AsyncPollable;

// The generated canonical-ABI glue is unsafe by nature; our own code in it is not.
#[allow(unsafe_code)]
mod bindings {
    wit_bindgen::generate!({
        world: "kafka-rest-edge:worlds/kafka-rest-edge-p2",
        path: "../../wit",
        generate_all,
    });
}

type HostApp = App<host::net::WasiConnect, host::clock::WasiClock, host::kv::WasiKv>;

struct Handler;

impl Guest for Handler {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        wstd::runtime::block_on(serve(request, out));
    }
}

wasip2::http::proxy::export!(Handler with_types_in wasip2);

fn app() -> Result<HostApp, ApiError> {
    let config = host::vars::load().map_err(|e| ApiError::internal(format!("Invalid configuration: {e}")))?;
    let kv = host::kv::WasiKv::new(config.kv_store.clone());
    App::new(config, host::net::WasiConnect, host::clock::WasiClock, kv)
        .map_err(|e| ApiError::internal(format!("Invalid configuration: {e}")))
}

async fn serve(request: IncomingRequest, out: ResponseOutparam) {
    let response = match app().map(Rc::new) {
        Ok(app) => match into_core(request, app.config.max_request_bytes, app.config.body_idle_timeout_ms).await {
            Ok(req) => app.handle(req).await,
            Err(e) => kre_core::http::Response::error(&e, JSON),
        },
        Err(e) => kre_core::http::Response::error(&e, JSON),
    };
    send(response, out).await;
}

/// Writes the core's response. A client that went away ends the writing, nothing else.
async fn send(response: kre_core::http::Response, out: ResponseOutparam) {
    let mut headers: Vec<(String, Vec<u8>)> = Vec::with_capacity(response.headers.len() + 2);
    if !response.body.is_empty() || response.stream.is_some() || response.status != http::StatusCode::NO_CONTENT {
        headers.push((http::header::CONTENT_TYPE.as_str().to_owned(), response.content_type.into_bytes()));
    }
    if response.stream.is_none() {
        // A known length: the host sends the body as one piece instead of chunks.
        headers.push((http::header::CONTENT_LENGTH.as_str().to_owned(), response.body.len().to_string().into_bytes()));
    }
    for (name, value) in response.headers {
        headers.push((name.as_str().to_owned(), value.into_bytes()));
    }
    let Ok(fields) = Fields::from_list(&headers) else {
        ResponseOutparam::set(out, Err(wasip2::http::types::ErrorCode::InternalError(Some("bad header".into()))));
        return;
    };
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(response.status.as_u16());
    let Ok(body) = outgoing.body() else { return };
    ResponseOutparam::set(out, Ok(outgoing));
    let Ok(stream) = body.write() else { return };
    let stream = AsyncOutputStream::new(stream);
    let written = match response.stream {
        None => stream.write_all(&response.body).await,
        Some(mut chunks) => {
            let mut result = Ok(());
            while let Some(chunk) = chunks.next().await {
                // Each report reaches the client as soon as it exists.
                result = match stream.write_all(&chunk).await {
                    Ok(()) => stream.flush().await,
                    Err(e) => Err(e),
                };
                if result.is_err() {
                    break;
                }
            }
            result
        }
    };
    let flushed = match written {
        Ok(()) => stream.flush().await,
        Err(e) => Err(e),
    };
    drop(stream);
    if flushed.is_ok() {
        let _ = OutgoingBody::finish(body, None);
    }
}

/// The request body as a stream of chunks; the body resource outlives its stream.
struct BodyReader {
    ready: Option<AsyncPollable>,
    stream: wasip2::io::streams::InputStream,
    _body: IncomingBody,
}

impl BodyReader {
    async fn next_chunk(&mut self) -> Option<Result<Bytes, BodyError>> {
        loop {
            match self.stream.read(64 * 1024) {
                Ok(chunk) if chunk.is_empty() => {
                    let stream = &self.stream;
                    self.ready.get_or_insert_with(|| AsyncPollable::new(stream.subscribe())).wait_for().await;
                }
                Ok(chunk) => return Some(Ok(Bytes::from(chunk))),
                Err(StreamError::Closed) => return None,
                Err(StreamError::LastOperationFailed(e)) => return Some(Err(BodyError::Read(e.to_debug_string()))),
            }
        }
    }

    fn into_stream(self) -> kre_core::http::BodyStream {
        Box::pin(futures::stream::unfold(self, |mut reader| async move {
            reader.next_chunk().await.map(|chunk| (chunk, reader))
        }))
    }
}

fn method(m: Method) -> Result<http::Method, ApiError> {
    Ok(match m {
        Method::Get => http::Method::GET,
        Method::Head => http::Method::HEAD,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        Method::Delete => http::Method::DELETE,
        Method::Connect => http::Method::CONNECT,
        Method::Options => http::Method::OPTIONS,
        Method::Trace => http::Method::TRACE,
        Method::Patch => http::Method::PATCH,
        Method::Other(s) => {
            http::Method::from_bytes(s.as_bytes()).map_err(|_| ApiError::bad_request(format!("Invalid method {s}")))?
        }
    })
}

/// Reads the body (refusing more than `limit` bytes) and keeps what the core needs.
async fn into_core(request: IncomingRequest, limit: usize, idle_ms: u64) -> Result<kre_core::http::Request, ApiError> {
    let method = method(request.method())?;
    let path_with_query = request.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = match path_with_query.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (path_with_query, None),
    };
    let mut headers = http::HeaderMap::new();
    for (name, value) in request.headers().entries() {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_bytes(&value))
        {
            headers.append(name, value);
        }
    }
    let scheme = match request.scheme() {
        Some(Scheme::Https) => "https".to_owned(),
        Some(Scheme::Other(s)) => s,
        _ => "http".to_owned(),
    };
    let authority = request
        .authority()
        .or_else(|| headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    let body = request.consume().map_err(|()| ApiError::internal("request body already taken"))?;
    let stream = body.stream().map_err(|()| ApiError::internal("request body stream already taken"))?;
    let reader = BodyReader { ready: None, stream, _body: body }.into_stream();
    let mut buf = Vec::new();
    let mut body_stream = None;
    if kre_core::http::router::streams_body(&method, &path) {
        // Handed over unread: the route consumes it while it answers.
        body_stream = Some(reader);
    } else {
        // A body that stops arriving is answered 408, never waited for.
        let timer = move || -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
            Box::pin(async move { host::clock::WasiClock.sleep(idle_ms).await })
        };
        let mut stream = kre_core::http::idle_limited(reader, idle_ms, timer);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::body_read(&e))?;
            if buf.len() + chunk.len() > limit {
                return Err(ApiError::payload_too_large(limit));
            }
            buf.extend_from_slice(&chunk);
        }
    }
    Ok(kre_core::http::Request {
        method,
        path,
        query,
        headers,
        body: Bytes::from(buf),
        body_stream: RefCell::new(body_stream),
        origin: format!("{scheme}://{authority}"),
    })
}

// Only its interface description is used (see wit/world.wit): no code calls it.
#[allow(unsafe_code, dead_code)]
mod versions {
    wit_bindgen::generate!({
        world: "kafka-rest-edge:p2-versions/versions",
        path: "wit",
        generate_all,
    });
}
