//! The rehearsal's tables: created on the target endpoint in the shape of
//! the Amplify models (key and secondary indexes, on-demand billing), so
//! that writes meet the same key rules as in production, and deleted again
//! at the end.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    TableStatus,
};

use crate::checks::model::{FieldType, Model, Scalar};
use crate::convert::{Kind, TableSchema};
use crate::error::{Error, Result};

/// One table to create: its DynamoDB name, key and indexes.
#[derive(Debug, Clone)]
pub struct TableShape {
    /// The model (ddbsnap table) name.
    pub model: String,
    /// The DynamoDB table name on the target.
    pub physical: String,
    /// Partition key, then sort key.
    pub key: Vec<(String, ScalarAttributeType)>,
    /// Secondary indexes: name, partition key, optional sort key.
    pub indexes: Vec<(String, Vec<(String, ScalarAttributeType)>)>,
    /// Indexes not created, and why.
    pub notes: Vec<String>,
}

/// The shape of a table from its model (when there is one) and the types
/// its data holds. Without a model the key is `id`, a string, as Amplify's.
pub fn shape(model_name: &str, physical: &str, model: Option<&Model>, schema: Option<&TableSchema>) -> TableShape {
    let attr_type = |name: &str| key_type(model, schema, name);
    let key_names: Vec<String> = match model {
        Some(m) => m.key_fields().iter().map(|s| s.to_string()).collect(),
        None => vec!["id".to_string()],
    };
    let key = key_attributes(&key_names, &attr_type);
    let mut indexes = Vec::new();
    let mut notes = Vec::new();
    for idx in model.map(|m| m.indexes()).unwrap_or_default() {
        if idx.fields.is_empty() {
            notes.push(format!("index {} of {model_name} names no key fields and is not created", idx.name));
            continue;
        }
        indexes.push((idx.name.clone(), key_attributes(&idx.fields, &attr_type)));
    }
    TableShape { model: model_name.to_string(), physical: physical.to_string(), key, indexes, notes }
}

/// A key's attributes: the partition key, then the sort key. Amplify keeps
/// two or more sort key fields in one string attribute named by the fields
/// joined with `#` (`status#createdAt`), holding their values joined the
/// same way.
fn key_attributes(fields: &[String], attr_type: &impl Fn(&str) -> ScalarAttributeType) -> Vec<(String, ScalarAttributeType)> {
    let Some(first) = fields.first() else { return Vec::new() };
    let mut out = vec![(first.clone(), attr_type(first))];
    match &fields[1..] {
        [] => {}
        [one] => out.push((one.clone(), attr_type(one))),
        many => out.push((composite_name(many), ScalarAttributeType::S)),
    }
    out
}

/// The attribute Amplify stores a composite sort key in.
pub fn composite_name(fields: &[String]) -> String {
    fields.join("#")
}

/// A key attribute's DynamoDB type: from the data where it has one kind,
/// else from the model's field type.
fn key_type(model: Option<&Model>, schema: Option<&TableSchema>, name: &str) -> ScalarAttributeType {
    match schema.and_then(|s| s.columns.iter().find(|c| c.name == name)).map(|c| c.kind) {
        Some(Kind::Num(_)) => return ScalarAttributeType::N,
        Some(Kind::Binary) => return ScalarAttributeType::B,
        Some(Kind::Str) => return ScalarAttributeType::S,
        _ => {}
    }
    match model.and_then(|m| m.fields.get(name)).map(|f| &f.ty) {
        Some(FieldType::Scalar(Scalar::Int | Scalar::Float | Scalar::AWSTimestamp)) => ScalarAttributeType::N,
        _ => ScalarAttributeType::S,
    }
}

fn element(name: &str, key_type: KeyType) -> Result<KeySchemaElement> {
    KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(|e| Error::Invalid(e.to_string()))
}

fn key_schema(attrs: &[(String, ScalarAttributeType)]) -> Result<Vec<KeySchemaElement>> {
    attrs.iter().enumerate().map(|(i, (n, _))| element(n, if i == 0 { KeyType::Hash } else { KeyType::Range })).collect()
}

/// Creates the table and waits until it is active. An existing table is an
/// error unless `replace`, when it is deleted first: a rehearsal never
/// writes into a table it did not create.
pub async fn create(client: &Client, t: &TableShape, replace: bool) -> Result<()> {
    if exists(client, &t.physical).await? {
        if !replace {
            return Err(Error::Invalid(format!(
                "table {} already exists on the target; a rehearsal creates its own tables (give --replace-tables to delete it first, or --table-prefix)",
                t.physical
            )));
        }
        delete(client, &t.physical).await?;
    }
    let mut defs: Vec<(String, ScalarAttributeType)> = t.key.clone();
    for (_, attrs) in &t.indexes {
        for a in attrs {
            if !defs.iter().any(|d| d.0 == a.0) {
                defs.push(a.clone());
            }
        }
    }
    let defs = defs
        .iter()
        .map(|(n, ty)| AttributeDefinition::builder().attribute_name(n).attribute_type(ty.clone()).build())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let mut gsis = Vec::new();
    for (name, attrs) in &t.indexes {
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(name)
            .set_key_schema(Some(key_schema(attrs)?))
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        gsis.push(gsi);
    }
    client
        .create_table()
        .table_name(&t.physical)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(defs))
        .set_key_schema(Some(key_schema(&t.key)?))
        .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
        .send()
        .await
        .map_err(|e| sdk_error(&format!("creating table {}", t.physical), e))?;
    wait_active(client, &t.physical).await
}

async fn exists(client: &Client, table: &str) -> Result<bool> {
    match client.describe_table().table_name(table).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(false),
        Err(e) => Err(sdk_error(&format!("describing table {table}"), e)),
    }
}

async fn wait_active(client: &Client, table: &str) -> Result<()> {
    for _ in 0..600 {
        let out = client.describe_table().table_name(table).send().await.map_err(|e| sdk_error(&format!("describing table {table}"), e))?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(Error::Invalid(format!("table {table} did not become active within 5 minutes")))
}

/// Deletes a table and waits until it is gone.
pub async fn delete(client: &Client, table: &str) -> Result<()> {
    client.delete_table().table_name(table).send().await.map_err(|e| sdk_error(&format!("deleting table {table}"), e))?;
    for _ in 0..600 {
        if !exists(client, table).await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(Error::Invalid(format!("table {table} was not deleted within 5 minutes")))
}

/// An SDK error with what was being done and the service's own message.
pub fn sdk_error<E>(doing: &str, e: aws_sdk_dynamodb::error::SdkError<E>) -> Error
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    Error::Invalid(format!("{doing}: {}", crate::aws::sdk_message(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::model::ModelIntrospection;

    #[test]
    fn composite_sort_keys_become_one_string_attribute() {
        let intro = ModelIntrospection::parse(
            "m.json",
            br#"{"version":"1","data":{"model_introspection":{"version":1,"enums":{},"nonModels":{},"models":{"Ev":{"name":"Ev",
            "attributes":[{"type":"model","properties":{}},{"type":"key","properties":{"fields":["tenant","kind","at"]}},
              {"type":"key","properties":{"name":"byDay","queryField":"q","fields":["day","tenant","kind","at"]}}],
            "primaryKeyInfo":{"isCustomPrimaryKey":true,"primaryKeyFieldName":"tenant","sortKeyFieldNames":["kind","at"]},
            "fields":{"tenant":{"name":"tenant","isArray":false,"type":"String","isRequired":true,"attributes":[]},
              "kind":{"name":"kind","isArray":false,"type":"String","isRequired":true,"attributes":[]},
              "at":{"name":"at","isArray":false,"type":"AWSTimestamp","isRequired":true,"attributes":[]},
              "day":{"name":"day","isArray":false,"type":"Int","isRequired":false,"attributes":[]}}}}}}}"#,
        )
        .unwrap();
        let s = shape("Ev", "Ev-x-NONE", intro.models.get("Ev"), None);
        assert_eq!(s.key, vec![("tenant".to_string(), ScalarAttributeType::S), ("kind#at".to_string(), ScalarAttributeType::S)]);
        assert_eq!(
            s.indexes,
            vec![(
                "byDay".to_string(),
                vec![("day".to_string(), ScalarAttributeType::N), ("tenant#kind#at".to_string(), ScalarAttributeType::S)]
            )]
        );
        assert!(s.notes.is_empty());
    }
}
