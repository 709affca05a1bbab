-- name: timestamps_format
-- table: *
-- requires: id, createdAt, updatedAt
-- keys: id
-- severity: error
-- description: createdAt and updatedAt are AWSDateTime strings (ISO 8601 with a zone)
SELECT id, ddb_type("createdAt") AS created_type, ddb_type("updatedAt") AS updated_type FROM {table}
WHERE (ddb_type("createdAt") = 'S' AND NOT regexp_like(CAST("createdAt" AS VARCHAR), '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$'))
   OR (ddb_type("updatedAt") = 'S' AND NOT regexp_like(CAST("updatedAt" AS VARCHAR), '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$'))
   OR ddb_type("createdAt") NOT IN ('S', 'NULL') OR ddb_type("updatedAt") NOT IN ('S', 'NULL')
