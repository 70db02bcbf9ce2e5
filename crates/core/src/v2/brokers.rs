//! v2 brokers: `GET /brokers`.

use http::StatusCode;
use serde::Serialize;

use crate::app::Ctx;
use crate::error::ApiResult;
use crate::http::Response;
use crate::kafka::ops::metadata;
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;

#[derive(Serialize)]
struct BrokerList {
    brokers: Vec<i32>,
}

pub async fn list<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    let meta = metadata::fetch(ctx.cluster(), metadata::Topics::None, ctx.deadline).await?;
    Ok(ctx.json(StatusCode::OK, &BrokerList { brokers: meta.brokers.iter().map(|b| b.id).collect() }))
}
