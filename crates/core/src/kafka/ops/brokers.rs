//! Broker registrations: UnregisterBroker (64, KIP-500/KIP-631, KRaft only).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{BrokerId, UnregisterBrokerRequest};

use crate::kafka::cluster::{Cluster, Target};
use crate::kafka::error::{Error, Result};
use crate::kafka::transport::Connect;
use crate::runtime::{Deadline, Runtime};

/// Removes a (stopped) broker's registration from the KRaft controller.
pub async fn unregister<C: Connect, R: Runtime>(
    cluster: &Cluster<C, R>,
    broker_id: i32,
    deadline: Deadline,
) -> Result<()> {
    let response = cluster
        .call(Target::Any, &UnregisterBrokerRequest::default().with_broker_id(BrokerId(broker_id)), deadline)
        .await?;
    match ResponseError::try_from_code(response.error_code) {
        None => Ok(()),
        Some(ResponseError::BrokerIdNotRegistered) => Err(Error::UnknownBroker { broker_id }),
        Some(code) => Err(Error::Broker { code, message: response.error_message.map(|m| m.to_string()) }),
    }
}
