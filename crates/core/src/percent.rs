//! Percent-encoding of URL path segments and query values (RFC 3986 section 2.1), for the router,
//! the links we hand out and the Schema Registry paths; a leaf every layer may use.

/// Decodes `%XX` escapes (`+` stays as it is); None for a malformed escape or a non-UTF-8 result.
pub fn percent_decode(s: &str) -> Option<String> {
    // The crate passes malformed escapes through; a path with one is a client error here.
    let malformed = s
        .match_indices('%')
        .any(|(i, _)| !s.as_bytes().get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
    if malformed {
        return None;
    }
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

/// Percent-encodes one path segment: everything but RFC 3986's unreserved characters.
pub fn encode_segment(s: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}
