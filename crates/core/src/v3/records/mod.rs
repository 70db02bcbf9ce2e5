//! v3 records: every method of the record URLs, in one place.
//!
//! - `POST /v3/clusters/{c}/topics/{t}/records`: streamed produce ([`produce`]).
//! - `GET  /v3/clusters/{c}/topics/{t}/records`: follow the topic (this project's consume extension).
//! - `POST /v3/clusters/{c}/topics/{t}/records:batch`: batch produce.
//! - `GET  /v3/clusters/{c}/topics/{t}/partitions/{p}/records`: read one partition (the extension).

mod consume;
mod produce;

use crate::app::Ctx;
use crate::error::ApiResult;
use crate::http::Response;
use crate::kafka::transport::Connect;
use crate::runtime::Runtime;
use crate::state::KvStore;

pub async fn produce<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static>(
    ctx: &Ctx<'_, C, R, K>,
) -> ApiResult<Response> {
    produce::stream(ctx).await
}

pub async fn follow<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static>(
    ctx: &Ctx<'_, C, R, K>,
) -> ApiResult<Response> {
    consume::follow(ctx).await
}

pub async fn produce_batch<C: Connect + 'static, R: Runtime + 'static, K: KvStore + 'static>(
    ctx: &Ctx<'_, C, R, K>,
) -> ApiResult<Response> {
    produce::batch(ctx).await
}

pub async fn read_partition<C: Connect, R: Runtime, K: KvStore>(ctx: &Ctx<'_, C, R, K>) -> ApiResult<Response> {
    consume::read_partition(ctx).await
}
