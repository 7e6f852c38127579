---
# A join: each todo with its owner's name. Call it with
#   {"path": "logics/todos/with-owner", "params": {"limit": 10}}
auth: {roles: [reader, writer]}
readonly: true
params:
  limit: {type: integer, default: 20}
---
SELECT t.id, t.title, t.done, u.name AS owner
FROM todos t
LEFT JOIN users u ON u.id = t.owner_id
ORDER BY t.id
LIMIT :limit
