//! Content negotiation as the reference describes it (§"Content Types"): weighted Accept
//! preferences (q-values, wildcards), the server's own preference between equally acceptable
//! types (vendor type before the less specific ones), 406 when nothing offered is acceptable.

use crate::error::ApiError;

/// A type the server can answer with, and its weight among the server's offers.
#[derive(Clone, Copy, Debug)]
pub struct Offer {
    pub media: &'static str,
    pub qs: f32,
}

pub const V2_JSON: &str = "application/vnd.kafka.v2+json";
pub const JSON: &str = "application/json";

/// v2 responses without embedded data.
pub const V2_OFFERS: &[Offer] = &[
    Offer { media: V2_JSON, qs: 1.0 },
    Offer { media: "application/vnd.kafka+json", qs: 0.9 },
    Offer { media: JSON, qs: 0.5 },
];

/// v3 responses: `application/json` (the reference's v3 type), also its vendor spelling.
pub const V3_OFFERS: &[Offer] =
    &[Offer { media: JSON, qs: 1.0 }, Offer { media: "application/vnd.kafka.v3+json", qs: 0.9 }];

struct Range<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: f32,
}

fn parse_accept(accept: &str) -> Vec<Range<'_>> {
    accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next()?;
            let (kind, subtype) = media.split_once('/')?;
            let mut q = 1.0f32;
            for p in parts {
                if let Some(v) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                    // An unparseable weight makes the range unusable rather than preferred.
                    q = v.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
                }
            }
            Some(Range { kind: kind.trim(), subtype: subtype.trim(), q })
        })
        .collect()
}

/// Picks the response type for `accept` among `offers`; no header (or an empty one) means anything.
pub fn negotiate(accept: Option<&str>, offers: &[Offer]) -> Result<&'static str, ApiError> {
    let accept = accept.map(str::trim).filter(|a| !a.is_empty());
    let Some(accept) = accept else {
        return offers.first().map(|o| o.media).ok_or_else(|| ApiError::internal("no media type offered"));
    };
    let ranges = parse_accept(accept);
    let mut best: Option<(&'static str, f32)> = None;
    for offer in offers {
        let (kind, subtype) = offer.media.split_once('/').unwrap_or((offer.media, ""));
        // The most specific matching range decides the client's weight for this offer (RFC 9110 §12.5.1).
        let q = ranges
            .iter()
            .filter_map(|r| {
                let specificity = if r.kind.eq_ignore_ascii_case(kind) && r.subtype.eq_ignore_ascii_case(subtype) {
                    2
                } else if r.kind.eq_ignore_ascii_case(kind) && r.subtype == "*" {
                    1
                } else if r.kind == "*" && r.subtype == "*" {
                    0
                } else {
                    return None;
                };
                Some((specificity, r.q))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, q)| q)
            .unwrap_or(0.0);
        let score = q * offer.qs;
        if score > 0.0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((offer.media, score));
        }
    }
    best.map(|(m, _)| m)
        .ok_or_else(|| ApiError::not_acceptable(accept, &offers.iter().map(|o| o.media).collect::<Vec<_>>()))
}

/// The media type of a Content-Type header, without parameters, lower-cased.
pub fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_defaults_and_preferences() {
        assert_eq!(negotiate(None, V2_OFFERS).expect("ok"), V2_JSON);
        assert_eq!(negotiate(Some("*/*"), V2_OFFERS).expect("ok"), V2_JSON);
        assert_eq!(negotiate(Some("application/json"), V2_OFFERS).expect("ok"), JSON);
        assert_eq!(
            negotiate(Some("application/vnd.kafka.v2+json, application/vnd.kafka+json, application/json"), V2_OFFERS)
                .expect("ok"),
            V2_JSON
        );
        assert_eq!(negotiate(Some("application/vnd.kafka+json"), V2_OFFERS).expect("ok"), "application/vnd.kafka+json");
    }

    #[test]
    fn q_values_decide() {
        assert_eq!(
            negotiate(Some("application/vnd.kafka.v2+json; q=0.1, application/json; q=0.9"), V2_OFFERS).expect("ok"),
            JSON
        );
        assert_eq!(
            negotiate(Some("application/vnd.kafka.v2+json; q=0.9, application/json; q=0.5"), V2_OFFERS).expect("ok"),
            V2_JSON
        );
        // q=0 excludes a type even when a wildcard would allow it.
        assert_eq!(
            negotiate(Some("*/*, application/vnd.kafka.v2+json;q=0"), V2_OFFERS).expect("ok"),
            "application/vnd.kafka+json"
        );
        assert_eq!(negotiate(Some("application/*"), V2_OFFERS).expect("ok"), V2_JSON);
    }

    #[test]
    fn nothing_acceptable_is_406() {
        let e = negotiate(Some("text/html"), V2_OFFERS).expect_err("406");
        assert_eq!((e.status().as_u16(), e.error_code()), (406, 406));
        let e = negotiate(Some("application/vnd.kafka.v2+json"), V3_OFFERS).expect_err("v2 type on v3");
        assert_eq!(e.status().as_u16(), 406);
        let e = negotiate(Some("application/json;q=abc"), V3_OFFERS).expect_err("bad q");
        assert_eq!(e.status().as_u16(), 406);
        assert_eq!(negotiate(Some("garbage"), V3_OFFERS).expect_err("garbage").status().as_u16(), 406);
    }

    #[test]
    fn v3_is_json() {
        assert_eq!(negotiate(Some("application/json"), V3_OFFERS).expect("ok"), JSON);
        assert_eq!(negotiate(Some("*/*"), V3_OFFERS).expect("ok"), JSON);
        assert_eq!(media_type("Application/JSON; charset=utf-8"), "application/json");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Any Accept header: one of the offers or a 406, never a panic.
        #[test]
        fn negotiation_never_panics(accept in "[ -~]{0,120}") {
            match negotiate(Some(&accept), V2_OFFERS) {
                Ok(t) => prop_assert!(V2_OFFERS.iter().any(|o| o.media == t)),
                Err(e) => prop_assert_eq!(e.status().as_u16(), 406),
            }
        }
    }
}
