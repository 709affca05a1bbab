-- name: datastore_metadata
-- table: *
-- requires: id, _version
-- keys: id
-- severity: error
-- description: on a table that DataStore syncs, every item carries _version (synced clients ignore items without it)
SELECT id FROM {table} WHERE "_version" IS NULL
