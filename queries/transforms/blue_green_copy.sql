-- name: blue_green_copy
-- description: Blue-green: copy every item of a model into a new model's table in the new shape, leaving the old table untouched (switch clients over, then retire it).
-- description: Every attribute is copied exactly (SELECT * keeps each value's DynamoDB type) except the full name, which is split into first and last name and left out, and __typename, which names the new model. Edit the set: columns for other shape changes.
-- param: from = Contact
-- param: to = ContactV2
-- param: source = name
-- expression: version = 2
SELECT *,
       '${to}' AS _table,
       'PUT' AS _op,
       '${source}' AS _remove,
       '${to}' AS "set:__typename",
       CASE WHEN ddb_type("${source}") = 'S' AND trim("${source}") <> ''
            THEN split_part(trim("${source}"), ' ', 1)
       END AS "set:firstName",
       CASE WHEN ddb_type("${source}") = 'S' AND strpos(trim("${source}"), ' ') > 0
            THEN trim(substr(trim("${source}"), strpos(trim("${source}"), ' ') + 1))
       END AS "set:lastName",
       ${version} AS "set:schemaVersion"
FROM "${from}"
