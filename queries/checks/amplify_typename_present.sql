-- name: typename_present
-- table: *
-- requires: id
-- expects: __typename
-- keys: id
-- severity: warn
-- description: Amplify writes __typename on every item; items without it were written by something else
SELECT id FROM {table} WHERE "__typename" IS NULL
