-- name: number_to_string
-- description: Change a field from Number to String (N to S): each number becomes its exact digits as text (DynamoDB's canonical form: 12.50 is stored as 12.5).
-- param: table = Contact
-- param: key = id
-- param: field = age
SELECT '${table}' AS _table,
       "${key}",
       ddb_text("${field}") AS "${field}"
FROM "${table}"
WHERE ddb_type("${field}") = 'N'
