---
# Private (the name starts with _): never callable through /call, only with
#   stk logic run --project dev --env dev _admin/clear-done
auth: private
---
DELETE FROM todos WHERE done
