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

/// A partition id from a path: anything but a non-negative integer names no partition (404/40402).
pub fn partition_id(topic: &str, text: &str) -> ApiResult<i32> {
    text.parse::<i32>().ok().filter(|p| *p >= 0).ok_or_else(|| {
        ApiError::new(
            crate::error::ErrorCode::PartitionNotFound,
            format!("Partition '{}' of topic '{topic}' not found.", text.escape_default()),
        )
    })
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
    fn ids() {
        assert_eq!(partition_id("t", "3").expect("ok"), 3);
        assert_eq!(partition_id("t", "-1").expect_err("neg").error_code(), 40402);
        assert_eq!(partition_id("t", "x").expect_err("nan").error_code(), 40402);
        assert_eq!(broker_id("2").expect("ok"), 2);
        assert_eq!(broker_id("x").expect_err("nan").status().as_u16(), 404);
    }
}
