---
# The caller's own posts, drafts included: :auth.sub binds the sub of the
# caller's token, whatever the request says.
auth: authenticated
readonly: true
---
SELECT id, title, published, created_at
FROM posts
WHERE author = :auth.sub
ORDER BY id DESC
