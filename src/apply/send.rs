//! The one place the AWS SDK writes to DynamoDB: one conditional write, or
//! one BatchWriteItem call, with errors sorted into conflicts, retryable
//! failures and final ones; and the BatchGetItem that reads writes back.
//!
//! `apply`, `rollback`, `load` and the rehearsal's load write through the
//! [`Dynamo`] interface, and `verify` reads through it: the SDK client
//! implements it, and unit tests of retry, rate and journal logic put a
//! fake in its place (beside the tests against DynamoDB Local).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue as Av, KeysAndAttributes, PutRequest, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure, WriteRequest,
};
use futures::future::BoxFuture;

use super::expr::Write;
use super::value::{item_from_sdk, item_to_sdk};
use crate::item::Item;
use crate::plan::rows::OpKind;

/// What a BatchGetItem call gave: the items found, and the keys left unprocessed.
pub type Got = (Vec<Item>, Vec<Item>);

/// The DynamoDB calls ddbsnap writes and reads back through.
pub trait Dynamo: Send + Sync {
    /// One conditional UPDATE, PUT or DELETE.
    fn write_one<'a>(&'a self, table: &'a str, w: &'a Write) -> BoxFuture<'a, Result<Sent, Failure>>;
    /// Unconditional PUTs of one table in one call (at most 25, distinct
    /// keys): the consumed units and the indexes (into `items`) left
    /// unprocessed.
    fn write_batch<'a>(&'a self, table: &'a str, items: &'a [&'a Item]) -> BoxFuture<'a, Result<(f64, Vec<usize>), Failure>>;
    /// Strongly consistent reads of up to 100 keys: the items found and the
    /// keys left unprocessed.
    fn get_batch<'a>(&'a self, table: &'a str, keys: Vec<Item>) -> BoxFuture<'a, Result<Got, String>>;
}

impl Dynamo for Client {
    fn write_one<'a>(&'a self, table: &'a str, w: &'a Write) -> BoxFuture<'a, Result<Sent, Failure>> {
        Box::pin(send_one(self, table, w))
    }

    fn write_batch<'a>(&'a self, table: &'a str, items: &'a [&'a Item]) -> BoxFuture<'a, Result<(f64, Vec<usize>), Failure>> {
        Box::pin(send_batch(self, table, items))
    }

    fn get_batch<'a>(&'a self, table: &'a str, keys: Vec<Item>) -> BoxFuture<'a, Result<Got, String>> {
        Box::pin(get_batch(self, table, keys))
    }
}

/// How a single write ended.
#[derive(Debug)]
pub enum Sent {
    /// Written; DynamoDB's consumed write units.
    Written(f64),
    /// The condition failed; the item as it is now (None: absent).
    ConditionFailed(Option<Item>),
}

/// Why a call is tried again; the report counts retries by cause, so that
/// each fault can be accounted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// ProvisionedThroughputExceeded, Throttling and their kin.
    Throttled,
    /// A 5xx answer.
    ServerError,
    /// No answer within the attempt's time.
    Timeout,
    /// The connection failed, or was dropped, or the answer was cut short.
    Connection,
    /// BatchWriteItem left items unprocessed.
    Unprocessed,
}

impl Cause {
    pub const ALL: [Cause; 5] = [Cause::Throttled, Cause::ServerError, Cause::Timeout, Cause::Connection, Cause::Unprocessed];

    pub fn name(self) -> &'static str {
        match self {
            Cause::Throttled => "throttled",
            Cause::ServerError => "server_error",
            Cause::Timeout => "timeout",
            Cause::Connection => "connection",
            Cause::Unprocessed => "unprocessed",
        }
    }
}

/// Why a call failed.
#[derive(Debug)]
pub enum Failure {
    /// Throttling, a 5xx, a timeout or a dropped connection: try again.
    Retry { cause: Cause, message: String },
    /// Anything else (a validation error, missing table, access denied).
    Final(String),
}

fn optional<K, V>(m: &HashMap<K, V>) -> Option<HashMap<K, V>>
where
    K: Clone,
    V: Clone,
{
    (!m.is_empty()).then(|| m.clone())
}

/// Sorts an SDK error; `condition` extracts the current item from a
/// failed-condition error of this operation.
fn classify<E: ProvideErrorMetadata + std::fmt::Debug>(
    err: SdkError<E, HttpResponse>,
    condition: impl Fn(&E) -> Option<Option<Item>>,
) -> Result<Sent, Failure> {
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let e = ctx.err();
            if let Some(current) = condition(e) {
                return Ok(Sent::ConditionFailed(current));
            }
            let code = e.code().unwrap_or("").to_string();
            let message = format!("{code}: {}", e.message().unwrap_or("(no message)"));
            let throttled = matches!(
                code.as_str(),
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "Throttling"
                    | "TooManyRequestsException"
            );
            if throttled || status >= 500 || code == "InternalServerError" || code == "ServiceUnavailable" {
                let cause = if throttled { Cause::Throttled } else { Cause::ServerError };
                Err(Failure::Retry { cause, message })
            } else {
                Err(Failure::Final(message))
            }
        }
        SdkError::TimeoutError(_) => Err(Failure::Retry { cause: Cause::Timeout, message: "the request timed out".into() }),
        SdkError::DispatchFailure(e) if e.is_timeout() => {
            Err(Failure::Retry { cause: Cause::Timeout, message: "the connection timed out".into() })
        }
        SdkError::DispatchFailure(e) => Err(Failure::Retry {
            cause: Cause::Connection,
            message: format!(
                "the connection failed: {}",
                e.as_connector_error()
                    .map(|c| crate::error::brief(&crate::error::innermost_cause(c), 200))
                    .unwrap_or_else(|| crate::error::brief(&format!("{e:?}"), 200))
            ),
        }),
        SdkError::ResponseError(e) => Err(Failure::Retry {
            cause: Cause::Connection,
            message: format!("the response was cut short or unreadable: {}", crate::error::brief(&format!("{e:?}"), 200)),
        }),
        other => Err(Failure::Final(format!("{other:?}"))),
    }
}

fn current(item: Option<&HashMap<String, Av>>) -> Option<Option<Item>> {
    Some(item.map(|m| item_from_sdk(m).unwrap_or_default()))
}

fn consumed(c: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>) -> f64 {
    c.and_then(|c| c.capacity_units()).unwrap_or(0.0)
}

/// Sends one conditional UPDATE, PUT or DELETE.
async fn send_one(client: &Client, table: &str, w: &Write) -> Result<Sent, Failure> {
    use aws_sdk_dynamodb::operation::{delete_item::DeleteItemError as D, put_item::PutItemError as P, update_item::UpdateItemError as U};
    let key = item_to_sdk(&w.key);
    match w.kind {
        OpKind::Update => client
            .update_item()
            .table_name(table)
            .set_key(Some(key))
            .set_update_expression(w.update.clone())
            .set_condition_expression(w.condition.clone())
            .set_expression_attribute_names(optional(&w.names))
            .set_expression_attribute_values(optional(&w.values))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .map(|o| Sent::Written(consumed(o.consumed_capacity())))
            .or_else(|e| classify(e, |e| if let U::ConditionalCheckFailedException(c) = e { current(c.item()) } else { None })),
        OpKind::Put => client
            .put_item()
            .table_name(table)
            .set_item(w.item.as_ref().map(item_to_sdk))
            .set_condition_expression(w.condition.clone())
            .set_expression_attribute_names(optional(&w.names))
            .set_expression_attribute_values(optional(&w.values))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .map(|o| Sent::Written(consumed(o.consumed_capacity())))
            .or_else(|e| classify(e, |e| if let P::ConditionalCheckFailedException(c) = e { current(c.item()) } else { None })),
        OpKind::Delete => client
            .delete_item()
            .table_name(table)
            .set_key(Some(key))
            .set_condition_expression(w.condition.clone())
            .set_expression_attribute_names(optional(&w.names))
            .set_expression_attribute_values(optional(&w.values))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .map(|o| Sent::Written(consumed(o.consumed_capacity())))
            .or_else(|e| classify(e, |e| if let D::ConditionalCheckFailedException(c) = e { current(c.item()) } else { None })),
    }
}

/// Sends unconditional PUTs of one table in one BatchWriteItem call (at most
/// 25, distinct keys). Returns the consumed units and the indexes (into
/// `items`) DynamoDB left unprocessed.
async fn send_batch(client: &Client, table: &str, items: &[&Item]) -> Result<(f64, Vec<usize>), Failure> {
    let requests: Vec<WriteRequest> = items
        .iter()
        .map(|it| {
            WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item_to_sdk(it))).build().expect("item is set")).build()
        })
        .collect();
    let out = client
        .batch_write_item()
        .request_items(table, requests)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .map_err(|e| match classify(e, |_| None) {
            Err(f) => f,
            Ok(_) => Failure::Final("BatchWriteItem: an unexpected condition failure".into()),
        })?;
    let used: f64 = out.consumed_capacity().iter().filter_map(|c| c.capacity_units()).sum();
    let mut left = Vec::new();
    if let Some(unprocessed) = out.unprocessed_items().and_then(|m| m.get(table)) {
        for req in unprocessed {
            let Some(item) = req.put_request().map(|p| p.item()) else { continue };
            let item = item_from_sdk(item).map_err(Failure::Final)?;
            if let Some(i) = items.iter().position(|x| **x == item) {
                left.push(i);
            }
        }
    }
    Ok((used, left))
}

/// Reads up to 100 keys of `table`, strongly consistent.
async fn get_batch(client: &Client, table: &str, keys: Vec<Item>) -> Result<Got, String> {
    let req = KeysAndAttributes::builder()
        .set_keys(Some(keys.iter().map(item_to_sdk).collect()))
        .consistent_read(true)
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .batch_get_item()
        .request_items(table, req)
        .send()
        .await
        .map_err(|e| format!("BatchGetItem on {table}: {}", crate::aws::sdk_cause(&e)))?;
    let found = resp.responses().and_then(|r| r.get(table)).into_iter().flatten().map(item_from_sdk).collect::<Result<Vec<_>, _>>()?;
    let left = resp.unprocessed_keys().and_then(|u| u.get(table)).map(|k| k.keys().iter().map(item_from_sdk).collect()).transpose()?;
    Ok((found, left.unwrap_or_default()))
}
