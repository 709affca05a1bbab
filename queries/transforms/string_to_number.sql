-- name: string_to_number
-- description: Change a field from String to Number (S to N): every S value that is exactly a number DynamoDB accepts becomes that number, digit for digit.
-- description: Values that are not numbers (words, blanks, spaces around digits, more than 38 digits) are not guessed: they are skipped and listed in the plan with their value.
-- param: table = Contact
-- param: key = id
-- param: field = age
SELECT '${table}' AS _table,
       "${key}",
       CASE WHEN ddb_is_number("${field}") THEN ddb_number("${field}") END AS "${field}",
       CASE WHEN NOT ddb_is_number("${field}") THEN 'not a number: ' || "${field}" END AS _skip
FROM "${table}"
WHERE ddb_type("${field}") = 'S'
