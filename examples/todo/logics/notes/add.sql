---
# A write bound to the caller: an end user (stk dev token --sub alice) adds a
# note whose author is their token's sub, whatever the request says.
auth: authenticated
params:
  body: {type: string, required: true}
---
INSERT INTO notes (author, body) VALUES (:auth.sub, :body)
