---
# An aggregate: open and done todos per user (CASE rather than sum(done),
# so that it runs on PostgreSQL too).
auth: {roles: [reader, writer]}
readonly: true
---
SELECT u.name, count(t.id) AS total,
       coalesce(sum(CASE WHEN t.done THEN 1 ELSE 0 END), 0) AS done
FROM users u
LEFT JOIN todos t ON t.owner_id = u.id
GROUP BY u.id, u.name
ORDER BY u.name
