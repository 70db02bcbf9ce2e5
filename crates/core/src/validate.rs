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
