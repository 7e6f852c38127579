---
# The public feed: published posts, newest first, with their number of
# comments — for anyone, even without a credential. Call it with
#   {"path": "logics/feed", "params": {"limit": 10}}
auth: public
readonly: true
params:
  limit: {type: integer, default: 20}
---
SELECT p.id, p.title, p.author, p.created_at, count(c.id) AS comments
FROM posts p
LEFT JOIN comments c ON c.post_id = p.id
WHERE p.published
GROUP BY p.id, p.title, p.author, p.created_at
ORDER BY p.created_at DESC, p.id DESC
LIMIT :limit
