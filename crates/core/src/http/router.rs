//! Matching a request against the route table ([`crate::routes`]): method + path → [`Route`] and
//! its named parameters. An unknown path is 404, a known path with another method is 405, both
//! as JSON errors.

use http::Method;

use crate::error::ApiError;

pub use crate::routes::{Body, Produces, Route, Spec, TABLE};

/// API family of a path: decides the error's content type and negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    V2,
    V3,
}

/// Path families only Confluent Server has: cluster links and mirrors, the balancer, broker tasks,
/// remove-broker tasks, broker replica exclusions, replica status (any method).
fn confluent_only(segments: &[&str]) -> bool {
    // segments: ["v3", "clusters", "{cluster}", family, ...]
    if segments.len() < 4 || segments[0] != "v3" || segments[1] != "clusters" {
        return false;
    }
    let family = segments[3].split(':').next().unwrap_or("");
    // `cells` and the other Confluent Cloud families of Confluent's v3 SDK (kafkarestv3).
    matches!(family, "links" | "balancer" | "broker-replica-exclusions" | "remove-broker-tasks" | "cells")
        || (family == "brokers" && segments.get(5).is_some_and(|s| *s == "tasks"))
        || segments.last().is_some_and(|s| *s == "replica-status")
}

/// Whether the route at `method` + `path` reads its body as a stream (the host then must not
/// buffer it: v3 streaming produce may run for as long as the client keeps sending).
pub fn streams_body(method: &Method, path: &str) -> bool {
    route(method, path).is_ok_and(|m| m.route.spec().streams)
}

/// Path parameters by the names the pattern gives them (percent-decoded).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The parameter `name`; empty when the route has none of that name (a table error the
    /// route tests catch).
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(_, v)| v.as_str())
    }
}

/// A matched route and its path parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    pub route: Route,
    pub params: Params,
}

impl Matched {
    pub fn spec(&self) -> &'static Spec {
        self.route.spec()
    }
}

/// The API family a path belongs to, even when no route matches (for the error's content type).
pub fn api_of(path: &str) -> Api {
    if path == "/v3" || path.starts_with("/v3/") { Api::V3 } else { Api::V2 }
}

pub fn route(method: &Method, path: &str) -> Result<Matched, ApiError> {
    // Empty segments (`//`, a trailing `/`) are ignored: `/topics/` and `…/positions//beginning`
    // are served as their normalised paths, as Confluent's and Karapace's proxies do.
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut allowed: Vec<&str> = Vec::new();
    for spec in TABLE {
        let Some(params) = match_pattern(spec.pattern, &segments)? else {
            continue;
        };
        if spec.method == method {
            return Ok(Matched { route: spec.route, params });
        }
        allowed.push(spec.method.as_str());
    }
    if confluent_only(&segments) {
        let cluster = segments.get(2).map(|c| vec![("cluster", (*c).to_owned())]).unwrap_or_default();
        return Ok(Matched { route: Route::ConfluentOnly, params: Params(cluster) });
    }
    if !allowed.is_empty() {
        Err(ApiError::method_not_allowed(method.as_str(), path, &allowed))
    } else {
        Err(ApiError::not_found(format!("No resource at {path}.")))
    }
}

fn match_pattern(pattern: &'static str, segments: &[&str]) -> Result<Option<Params>, ApiError> {
    let parts: Vec<&str> = pattern.split('/').skip(1).collect();
    if parts.len() != segments.len() {
        return Ok(None);
    }
    let mut params = Vec::new();
    for (p, s) in parts.iter().zip(segments) {
        if let Some(inner) = p.strip_prefix('{') {
            // `{param}:action` (e.g. `{broker}:unregister`): the segment must end with the action.
            let (name, value) = match inner.split_once("}:") {
                Some((name, action)) => match s.strip_suffix(action).and_then(|v| v.strip_suffix(':')) {
                    Some(v) => (name, v),
                    None => return Ok(None),
                },
                None => (inner.trim_end_matches('}'), *s),
            };
            if value.is_empty() {
                return Ok(None);
            }
            let decoded = percent_decode(value)
                .ok_or_else(|| ApiError::bad_request(format!("Invalid percent-encoding in path segment '{s}'.")))?;
            params.push((name, decoded));
        } else if p != s {
            return Ok(None);
        }
    }
    Ok(Some(Params(params)))
}

use crate::percent::percent_decode;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_params() {
        let m = route(&Method::GET, "/v3/clusters/abc/topics/my%2Etopic/partitions/3").expect("route");
        assert_eq!(m.route, Route::Partition);
        assert_eq!(m.params.values().collect::<Vec<_>>(), vec!["abc", "my.topic", "3"]);
        assert_eq!((m.params.get("topic"), m.params.get("partition")), ("my.topic", "3"));
        assert_eq!(route(&Method::GET, "/topics/").expect("trailing slash").route, Route::V2Topics);
        assert_eq!(route(&Method::DELETE, "/v3/clusters/c/topics/t").expect("delete").route, Route::DeleteTopic);
    }

    #[test]
    fn literal_dashes_actions_and_confluent_only_families() {
        assert_eq!(route(&Method::GET, "/v3/clusters/c/topics/-/configs").expect("r").route, Route::AllTopicsConfigs);
        assert_eq!(route(&Method::GET, "/v3/clusters/c/topics/t/configs").expect("r").route, Route::TopicConfigs);
        let m = route(&Method::POST, "/v3/clusters/c/brokers/3:unregister").expect("r");
        assert_eq!((m.route, m.params.get("cluster"), m.params.get("broker")), (Route::UnregisterBroker, "c", "3"));
        assert_eq!(
            route(&Method::POST, "/v3/clusters/c/topics/t/configs:alter").expect("r").route,
            Route::TopicConfigsAlter
        );
        for p in [
            "/v3/clusters/c/links",
            "/v3/clusters/c/links/l/mirrors:promote",
            "/v3/clusters/c/balancer/any-uneven-load",
            "/v3/clusters/c/brokers/-/tasks",
            "/v3/clusters/c/brokers/1/tasks/add-broker",
            "/v3/clusters/c/broker-replica-exclusions:create",
            "/v3/clusters/c/remove-broker-tasks/1",
            "/v3/clusters/c/topics/t/partitions/-/replica-status",
        ] {
            assert_eq!(route(&Method::GET, p).expect(p).route, Route::ConfluentOnly, "{p}");
        }
        assert_eq!(route(&Method::DELETE, "/v3/clusters/c/brokers/1").expect("r").route, Route::ConfluentOnly);
    }

    #[test]
    fn unknown_path_is_404_and_wrong_method_405() {
        let e = route(&Method::GET, "/nope").expect_err("404");
        assert_eq!((e.status().as_u16(), e.error_code()), (404, 404));
        let e = route(&Method::PUT, "/v3/clusters/c/topics/t").expect_err("405");
        assert_eq!((e.status().as_u16(), e.error_code()), (405, 405));
        assert_eq!(e.allowed(), Some("GET, DELETE, PATCH"));
        // Empty segments are ignored, as a trailing slash is.
        assert_eq!(route(&Method::GET, "/v3/clusters//c/topics").expect("normalised").route, Route::Topics);
        let m = route(&Method::POST, "/consumers/g/instances/i/positions//beginning").expect("normalised");
        assert_eq!(m.route, Route::V2SeekBeginning);
        let e = route(&Method::GET, "/topics/%zz").expect_err("bad escape");
        assert_eq!(e.status().as_u16(), 400);
    }

    #[test]
    fn api_family_from_path() {
        assert_eq!(api_of("/v3/clusters"), Api::V3);
        assert_eq!(api_of("/topics"), Api::V2);
        assert_eq!(api_of("/v3x"), Api::V2);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Any path and method: a route, a 404/405/400 error, never a panic.
        #[test]
        fn routing_never_panics(path in "/[ -~]{0,80}", m in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])) {
            let method = Method::from_bytes(m.as_bytes()).expect("method");
            match route(&method, &path) {
                Ok(_) => {}
                Err(e) => prop_assert!(matches!(e.status().as_u16(), 400 | 404 | 405)),
            }
        }

        #[test]
        fn percent_decoding_round_trips(s in "\\PC{0,40}") {
            let encoded: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
            prop_assert_eq!(percent_decode(&encoded), Some(s));
        }
    }
}
