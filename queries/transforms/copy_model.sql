-- name: copy_model
-- description: Blue-green copy of a model renamed with the same fields: every item of the old model's table is PUT into the new model's table exactly as it is (SELECT * keeps each value's DynamoDB type), with __typename naming the new model. The old table is left untouched: switch clients over, then retire it.
-- param: from = Contact
-- param: to = ContactV2
SELECT *,
       '${to}' AS _table,
       'PUT' AS _op,
       '${to}' AS "set:__typename"
FROM "${from}"
