---
# An aggregate for an org's admins: each project of the caller's org with
# its number of tasks and of done tasks. :auth.claims.org binds the
# caller's org claim (NULL without one: no rows), so an admin of one org
# never sees another's figures. Call it with {"path": "logics/org/summary"}.
auth: {roles: [admin]}
readonly: true
---
SELECT p.id, p.name,
       count(t.id) AS tasks,
       coalesce(sum(CASE WHEN t.done THEN 1 ELSE 0 END), 0) AS done
FROM projects p
LEFT JOIN tasks t ON t.project_id = p.id AND t.org = p.org
WHERE p.org = :auth.claims.org
GROUP BY p.id, p.name
ORDER BY p.id
