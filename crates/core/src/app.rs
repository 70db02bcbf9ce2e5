//! The application: configuration, the Kafka cluster client, the state store, and the request
//! pipeline (route → negotiate → handler → response, errors mapped once).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::config::{AuthMode, Config};
use crate::error::{ApiError, ApiResult};
use crate::http::negotiate::{self, JSON, V2_JSON, V2_OFFERS, V3_OFFERS};
use crate::http::router::{self, Api, Body, Params, Produces};
use crate::http::{Request, Response};
use crate::kafka::client::Client;
use crate::kafka::cluster::{ClientConfig, Cluster};
use crate::kafka::sasl::Sasl;
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};
use crate::state::KvStore;

pub struct App<C: Connect, R: Runtime, K: KvStore> {
    pub config: Config,
    /// The Kafka client and what it knows of the cluster (all of it a cache). Under
    /// passthrough it has no login and serves only as the clock; callers get their own.
    pub client: Rc<Client<C, R>>,
    pub kv: K,
    principals: Principals<C, R>,
    /// The Schema Registry client (its caches are per instance), when configured.
    pub registry: Option<crate::registry::Registry<C, R>>,
}

/// Passthrough: one Kafka client per caller, keyed by a salted hash of the credentials.
struct Principals<C: Connect, R: Runtime> {
    template: ClientConfig,
    connect: C,
    rt: R,
    salt: [u8; 16],
    clients: RefCell<HashMap<[u8; 32], Pooled<C, R>>>,
}

/// A caller's client and when the instance last saw the caller (monotonic ms).
type Pooled<C, R> = (Rc<Client<C, R>>, u64);

/// Callers whose connections an instance keeps; the least recently seen goes first.
const MAX_PRINCIPALS: usize = 64;

/// What a handler gets: the app, the request, its path parameters, the negotiated type, the deadline.
pub struct Ctx<'a, C: Connect, R: Runtime, K: KvStore> {
    pub app: &'a Rc<App<C, R, K>>,
    pub req: &'a Request,
    pub params: Params,
    pub content_type: &'static str,
    pub deadline: Deadline,
    /// The Kafka client of this request's principal.
    pub client: Rc<Client<C, R>>,
    /// The caller's Kafka principal under passthrough (`User:alice`); None with static credentials.
    pub principal: Option<String>,
}

impl<C: Connect, R: Runtime, K: KvStore> Ctx<'_, C, R, K> {
    /// The path parameter `name` (as the route's pattern names it).
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name)
    }

    /// The Kafka client serving this request.
    pub fn client(&self) -> &Rc<Client<C, R>> {
        &self.client
    }

    /// The connection layer, for operations.
    pub fn cluster(&self) -> &Cluster<C, R> {
        self.client.cluster()
    }

    /// The Schema Registry client; Err names the setting when none is configured.
    pub fn registry(&self, format: &'static str) -> ApiResult<&crate::registry::Registry<C, R>> {
        self.app.registry.as_ref().ok_or_else(|| crate::registry::Error::NotConfigured(format).into())
    }

    /// Base of absolute links: the configured URL or the origin the client used.
    pub fn base_url(&self) -> &str {
        self.app.config.advertised_base_url.as_deref().unwrap_or(&self.req.origin)
    }

    pub fn json(&self, status: http::StatusCode, value: &impl serde::Serialize) -> Response {
        Response::json(status, self.content_type, value)
    }

    /// The cluster id, checking it against the `{cluster_id}` path parameter (404 when different).
    pub async fn check_cluster(&self) -> ApiResult<String> {
        let id = self.client.cluster_id(self.deadline).await?;
        let wanted = self.param("cluster");
        if wanted != id {
            return Err(ApiError::cluster_not_found(wanted));
        }
        Ok(id)
    }
}

impl<C: Connect, R: Runtime, K: KvStore> App<C, R, K> {
    /// The app for `config`; Err when the TLS settings do not build (a bad PEM, say).
    pub fn new(config: Config, connect: C, rt: R, kv: K) -> Result<Self, String>
    where
        C: Clone,
        R: Clone,
    {
        let security = &config.security;
        let tls = if security.protocol.tls() {
            Some(std::sync::Arc::new(crate::kafka::tls::Tls::new(&security.tls)?))
        } else {
            None
        };
        let template = ClientConfig {
            bootstrap: config.bootstrap_servers.clone(),
            client_id: config.client_id.clone(),
            host_map: config.host_map.clone(),
            connect_timeout_ms: config.connect_timeout_ms,
            tls,
            sasl: None,
        };
        let service = ClientConfig {
            sasl: security.service.clone().map(|credentials| Sasl { credentials, from_caller: false }),
            ..template.clone()
        };
        let client = Client::new(Cluster::new(connect.clone(), rt.clone(), service), config.metadata_max_age_ms);
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&rt.random_u64().to_le_bytes());
        crate::kafka::tls::random_bytes(&mut salt[8..]);
        let registry = match &config.schema_registry_url {
            Some(url) => Some(crate::registry::Registry::new(
                connect.clone(),
                rt.clone(),
                url,
                config.schema_registry_basic_auth.as_ref(),
                config.schema_registry_timeout_ms,
                config.host_map.clone(),
            )?),
            None => None,
        };
        let principals = Principals { template, connect, rt, salt, clients: RefCell::default() };
        Ok(App { client: Rc::new(client), config, kv, principals, registry })
    }

    /// The Kafka client for this request and the caller's principal name: the service client
    /// under static credentials; under passthrough the caller's own, created (and its login
    /// checked with the broker) on first use.
    async fn client_for(&self, req: &Request, deadline: Deadline) -> ApiResult<(Rc<Client<C, R>>, Option<String>)>
    where
        C: Clone,
        R: Clone,
    {
        if self.config.security.auth_mode == AuthMode::Static {
            return Ok((self.client.clone(), None));
        }
        let p = &self.principals;
        let who = crate::principal::from_header(req.header("authorization"), self.config.security.mechanism, &p.salt)?;
        let now = p.rt.monotonic_ms();
        if let Some((client, seen)) = p.clients.borrow_mut().get_mut(&who.key) {
            *seen = now;
            return Ok((client.clone(), Some(who.name)));
        }
        let config =
            ClientConfig { sasl: Some(Sasl { credentials: who.credentials, from_caller: true }), ..p.template.clone() };
        let client = Rc::new(Client::new(
            Cluster::new(p.connect.clone(), p.rt.clone(), config),
            self.config.metadata_max_age_ms,
        ));
        // Log in before anything acts on the principal's name (a consumer instance's owner).
        client.cluster_id(deadline).await?;
        let mut clients = p.clients.borrow_mut();
        if clients.len() >= MAX_PRINCIPALS
            && let Some(oldest) = clients.iter().min_by_key(|(_, (_, seen))| *seen).map(|(k, _)| *k)
        {
            clients.remove(&oldest);
        }
        clients.insert(who.key, (client.clone(), now));
        Ok((client, Some(who.name)))
    }

    /// The produce options from configuration.
    pub fn produce_options(&self) -> crate::kafka::ops::produce::ProduceOptions {
        crate::kafka::ops::produce::ProduceOptions {
            acks: self.config.producer_acks,
            compression: self.config.producer_compression,
            max_batch_bytes: self.config.producer_max_batch_bytes,
        }
    }
}

impl<C: Connect + Clone + 'static, R: Runtime + Clone + 'static, K: KvStore + 'static> App<C, R, K> {
    pub async fn handle(self: &Rc<Self>, mut req: Request) -> Response {
        // A streamed body that goes silent ends with an error (streaming produce writes it as its
        // final report) instead of holding the request and its instance.
        if let Some(body) = req.body_stream.get_mut().take() {
            let client = self.client.clone();
            let idle = self.config.body_idle_timeout_ms;
            let timer = move || -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
                let client = client.clone();
                Box::pin(async move { client.runtime().sleep(idle).await })
            };
            *req.body_stream.get_mut() = Some(crate::http::idle_limited(body, idle, timer));
        }
        let api = router::api_of(&req.path);
        let error_type = match api {
            Api::V2 => V2_JSON,
            Api::V3 => JSON,
        };
        let head = head_bytes(&req);
        if head > self.config.max_header_bytes {
            return Response::error(&ApiError::headers_too_large(head, self.config.max_header_bytes), error_type);
        }
        let matched = match router::route(&req.method, &req.path) {
            Ok(m) => m,
            Err(e) => return Response::error(&e, error_type),
        };
        let spec = matched.spec();
        // Disabled by the access lists: as Confluent's proxy, GET is 404 and anything else 405.
        let endpoint = spec.endpoint_id(req.header("content-type"), req.header("accept"));
        if spec.blocked_as(&endpoint, &self.config.api_endpoints_allowlist, &self.config.api_endpoints_blocklist) {
            let e = if req.method == http::Method::GET {
                ApiError::not_found("HTTP 404 Not Found")
            } else {
                ApiError::new(crate::error::ErrorCode::MethodNotAllowed, "HTTP 405 Method Not Allowed")
            };
            return Response::error(&e, error_type);
        }
        let deadline = Deadline::after(self.client.runtime(), self.config.request_timeout_ms);
        let (client, principal) = match self.client_for(&req, deadline).await {
            Ok(c) => c,
            Err(e) => return Response::error(&e, error_type),
        };
        // Records come in the consumer's own format: that route checks Accept itself (40601).
        let content_type = match spec.produces {
            Produces::ConsumerFormat => V2_JSON,
            Produces::V2 | Produces::V3 => {
                let offers = if spec.produces == Produces::V2 { V2_OFFERS } else { V3_OFFERS };
                match negotiate::negotiate(req.header("accept"), offers) {
                    Ok(t) => t,
                    Err(e) => return Response::error(&e, error_type),
                }
            }
        };
        if let Err(e) = check_content_type(spec.body, req.header("content-type")) {
            return Response::error(&e, content_type);
        }
        if req.body.len() > self.config.max_request_bytes {
            return Response::error(&ApiError::payload_too_large(self.config.max_request_bytes), content_type);
        }
        let ctx = Ctx { app: self, req: &req, params: matched.params, content_type, deadline, client, principal };
        match crate::routes::dispatch(&ctx, matched.route).await {
            Ok(response) => response,
            Err(e) => Response::error(&e, content_type),
        }
    }
}

/// The request line and headers as sent (HTTP/1.1 framing: `: ` and CRLF per header).
fn head_bytes(req: &Request) -> usize {
    let line = req.method.as_str().len() + req.path.len() + req.query.as_ref().map_or(0, |q| q.len() + 1) + 11;
    req.headers.iter().fold(line, |n, (name, value)| n + name.as_str().len() + value.len() + 4)
}

/// The request's Content-Type against what the route reads (absent is fine: the body is JSON).
fn check_content_type(body: Body, content_type: Option<&str>) -> ApiResult<()> {
    let Some(ct) = content_type else { return Ok(()) };
    let media = negotiate::media_type(ct);
    let (ok, expected): (bool, &[&str]) = match body {
        Body::None => return Ok(()),
        Body::V2 => (
            media == JSON
                || media == "application/vnd.kafka+json"
                || (media.starts_with("application/vnd.kafka.") && media.ends_with(".v2+json")),
            &[V2_JSON, JSON],
        ),
        // The handler maps the embedded format (it needs it): any v2 type passes here.
        Body::V2Embedded => return Ok(()),
        Body::V3 => (media == JSON || media == "application/vnd.kafka.v3+json", &[JSON]),
    };
    if ok { Ok(()) } else { Err(ApiError::unsupported_media_type(ct, expected)) }
}
