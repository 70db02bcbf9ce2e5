//! Input checks shared by v2 and v3, with messages that name the problem.

use crate::error::{ApiError, ApiResult};

/// Kafka's topic-name rules (org.apache.kafka.common.internals.Topic#validate).
pub fn topic_name(name: &str) -> ApiResult<()> {
    let problem = if name.is_empty() {
        Some("the name is empty".to_owned())
    } else if name == "." || name == ".." {
        Some("'.' and '..' are not allowed".to_owned())
    } else if name.len() > 249 {
        Some(format!("the name is {} characters long, the limit is 249", name.len()))
    } else {
        name.chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .map(|c| format!("'{}' is not allowed (only ASCII letters, digits, '.', '_' and '-')", c.escape_default()))
    };
    match problem {
        Some(p) => Err(ApiError::bad_request(format!("Invalid topic name '{}': {p}.", name.escape_default()))),
        None => Ok(()),
    }
}

/// A string the Kafka protocol carries (16-bit length): longer is a 400 naming `field`, before
/// anything is sent (a broker closes the connection on it).
pub fn protocol_string(field: &str, value: &str) -> ApiResult<()> {
    let limit = crate::limits::MAX_PROTOCOL_STRING;
    if value.len() > limit {
        return Err(ApiError::bad_request(format!("{field} is {} bytes long; Kafka's limit is {limit}.", value.len())));
    }
    Ok(())
}

/// A name that becomes a path segment of a URL we hand out (`base_uri`): `.` and `..` are
/// rewritten by every RFC 3986 client (section 5.2.4), so the URL would name something else.
pub fn path_name(what: &str, name: &str) -> ApiResult<()> {
    if name == "." || name == ".." {
        return Err(ApiError::bad_request(format!("Invalid {what} '{name}': '.' and '..' are not allowed.")));
    }
    Ok(())
}

/// A topic name to look up (v2 GETs): one that cannot exist is not found (404/40401), as in
/// Confluent's proxy, which looks the name up without checking it.
pub fn lookup_topic_name(name: &str) -> ApiResult<()> {
    topic_name(name).map_err(|_| ApiError::topic_not_found(name))
}

/// A partition id from a path. Not an integer: no such resource (404/404), as Jersey answers a
/// `@PathParam int` it cannot convert in Confluent's proxy; a negative one names no partition
/// (404/40402).
pub fn partition_id(topic: &str, text: &str) -> ApiResult<i32> {
    let id = text.parse::<i32>().map_err(|_| {
        ApiError::not_found(format!("Partition '{}' of topic '{topic}' is not a partition id.", text.escape_default()))
    })?;
    if id < 0 {
        return Err(ApiError::partition_not_found(topic, id));
    }
    Ok(id)
}

pub fn broker_id(text: &str) -> ApiResult<i32> {
    text.parse::<i32>()
        .ok()
        .filter(|b| *b >= 0)
        .ok_or_else(|| ApiError::not_found(format!("Broker '{}' not found.", text.escape_default())))
}

/// The longest a records request long-polls, on v2 and v3 alike (the request's own deadline,
/// `kafka_request_timeout_ms`, bounds it too).
pub const MAX_WAIT_MS: u64 = 30_000;

/// A `timeout` query parameter: a non-negative number of milliseconds, capped at [`MAX_WAIT_MS`].
pub fn wait_ms(text: &str) -> Result<u64, ApiError> {
    text.parse::<u64>()
        .map(|ms| ms.min(MAX_WAIT_MS))
        .map_err(|_| ApiError::bad_request(format!("timeout '{text}' is not a number of milliseconds.")))
}

/// A `max_bytes` query parameter: a non-negative number of bytes.
pub fn max_bytes(text: &str) -> Result<usize, ApiError> {
    text.parse::<usize>().map_err(|_| ApiError::bad_request(format!("max_bytes '{text}' is not a number of bytes.")))
}

/// Internal topics (`__consumer_offsets`, `__transaction_state`, any `__*`) hold the cluster's
/// own state: deleting or reshaping one through the API loses every group's offsets, so it needs
/// `allow_internal_topic_writes`.
pub fn writable_topic(name: &str, config: &crate::Config) -> Result<(), ApiError> {
    if name.starts_with("__") && !config.allow_internal_topic_writes {
        return Err(ApiError::new(
            crate::error::ErrorCode::Forbidden,
            format!("Topic '{name}' is internal; changing it needs allow_internal_topic_writes=true."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(topic_name("orders.v1_x-y").is_ok());
        assert!(topic_name(&"a".repeat(249)).is_ok());
        for bad in ["", ".", "..", "a b", "a/b", "ü", &"a".repeat(250)] {
            let e = topic_name(bad).expect_err(bad);
            assert_eq!((e.status().as_u16(), e.error_code()), (400, 400), "{bad}");
            assert!(e.message().contains("Invalid topic name"), "{}", e.message());
        }
    }

    #[test]
    fn protocol_strings_and_path_names() {
        assert!(protocol_string("x", &"a".repeat(32_767)).is_ok());
        let e = protocol_string("data[0].name", &"a".repeat(32_768)).expect_err("long");
        assert_eq!((e.status().as_u16(), e.error_code()), (400, 400));
        assert!(e.message().starts_with("data[0].name is 32768 bytes"), "{}", e.message());
        for bad in [".", ".."] {
            assert_eq!(path_name("group", bad).expect_err(bad).status().as_u16(), 400);
        }
        assert!(path_name("group", "...").is_ok());
    }

    #[test]
    fn ids() {
        assert_eq!(partition_id("t", "3").expect("ok"), 3);
        assert_eq!(partition_id("t", "-1").expect_err("neg").error_code(), 40402);
        assert_eq!(partition_id("t", "x").expect_err("nan").error_code(), 404);
        assert_eq!(broker_id("2").expect("ok"), 2);
        assert_eq!(broker_id("x").expect_err("nan").status().as_u16(), 404);
    }
}
