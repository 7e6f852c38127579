---
# An aggregate: open and done todos per user.
auth: {roles: [reader, writer]}
readonly: true
---
SELECT u.name, count(t.id) AS total, coalesce(sum(t.done), 0) AS done
FROM users u
LEFT JOIN todos t ON t.owner_id = u.id
GROUP BY u.id, u.name
ORDER BY u.name
