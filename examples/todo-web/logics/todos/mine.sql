---
# The caller's own todos, open ones first. readonly: true runs it in a
# read-only transaction and lets the SDK retry it like a select:
#   stk.logic("todos/mine", { limit: 20 }, { readonly: true })
auth: authenticated
readonly: true
params:
  limit: {type: integer, default: 100}
---
SELECT id, title, done FROM todos WHERE owner = :auth.sub ORDER BY done, id LIMIT :limit
