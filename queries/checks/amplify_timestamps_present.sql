-- name: timestamps_present
-- table: *
-- requires: id
-- expects: createdAt, updatedAt
-- keys: id
-- severity: warn
-- description: createdAt and updatedAt are set (AppSync resolvers write both; their absence means a script wrote the item)
SELECT id FROM {table} WHERE "createdAt" IS NULL OR "updatedAt" IS NULL
