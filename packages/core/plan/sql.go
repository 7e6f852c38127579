package plan

import (
	"slices"
	"strings"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/filter"
	"github.com/santokit/santokit/packages/core/jsonscan"
)

// SQL decisions (SPEC §4.3, §4.4, ARCHITECTURE §5):
//
//   - Identifiers come only from the snapshot, double-quoted with '"'
//     doubled; every value is a bound parameter ($n on PostgreSQL, ? on
//     SQLite). The text depends only on the request's shape: the op, the
//     columns named (select, data, orderBy, returning), the filter's tree of
//     columns and operators, which comparisons are with null ($isNull
//     true/false, "col": null) — never on values, list lengths or batch
//     sizes. LIMIT and OFFSET are always bound. One exception: a select
//     whose filter pins the primary key with $eq reads at most one row and
//     drops ORDER BY, LIMIT and OFFSET, unless limit 0 or an offset could
//     change the answer — so that shape has two texts, not one per value.
//   - $in/$nin bind one argument: PostgreSQL `"c" = ANY($1)` / `"c" <> ALL($1)`
//     with an array literal; SQLite `"c" IN (SELECT value FROM json_each(?))`
//     with a JSON array (booleans as 1/0).
//   - $like is case-sensitive and $ilike case-insensitive on both engines, a
//     backslash escaping % and _ (a pattern ending in a lone backslash is
//     400). PostgreSQL: `"c"::text LIKE $1` / `ILIKE` (backslash is its
//     default escape; the cast lets enums, which read as text, match too).
//     SQLite: $ilike is `"c" LIKE ? ESCAPE '\'` (SQLite's LIKE folds ASCII
//     case only — PostgreSQL's ILIKE also folds non-ASCII letters — and the
//     Bridge must not set PRAGMA case_sensitive_like); $like is `"c" GLOB ?`
//     with the pattern translated (% → *, _ → ?, escaped or literal *, ?, [
//     → [*], [?], [[]), since GLOB is case-sensitive.
//   - Arrays are compared with $eq/$ne only; on SQLite, where they are JSON
//     text, as json("c") = json(?). json/jsonb compare whole values with
//     $eq/$ne (and $isNull), see jsonCompare; bytea $eq/$ne/$isNull;
//     boolean no $gt…; other nothing.
//   - Without orderBy rows come in primary-key order; with orderBy the
//     primary-key columns not named are appended as tie-breakers (stable
//     pagination). SQLite gets NULLS LAST for ASC and NULLS FIRST for DESC,
//     PostgreSQL's defaults, so both engines sort nulls alike.
//   - count: CountSQL is `SELECT count(*) FROM "t" WHERE …` with the filter's
//     args, a separate statement, so the total is right even when offset is
//     past the end.
//   - Inserts always bind one JSON array, whether data is one object or a
//     batch. PostgreSQL: INSERT INTO "t" ("a","b") SELECT "a","b" FROM
//     json_to_recordset($1::json) AS x("a" <DBType>,"b" <DBType>) — json,
//     not jsonb, so json columns keep their text. SQLite: INSERT INTO "t"
//     ("a","b") SELECT json_extract(j.value, '$[0]'), … FROM json_each(?) AS
//     j, each row a JSON array in column order (the paths are positions,
//     never user text); bytea goes as hex through unhex(), json/jsonb and
//     arrays as JSON strings holding their text.
//   - Every row of a batch must set the same columns (400 otherwise): a
//     column missing from some rows could only become NULL in one statement,
//     which would silently override its default. A row must set at least
//     one column.
//   - Generated columns cannot be written (400). Identity columns can: the
//     snapshot does not tell GENERATED ALWAYS from BY DEFAULT, so PostgreSQL
//     itself refuses an ALWAYS column (SQLSTATE 428C9, which the executor
//     maps to 400), and SQLite's INTEGER PRIMARY KEY takes given values.
//   - null is refused (400) for a column the snapshot says is NOT NULL.
//   - returning defaults to "*", the columns the caller's select rule
//     allows; when the caller has no select rule (or it allows no column),
//     the default and "*" return no columns — the write still happens and
//     meta.affected counts it — while naming a column is 403.

// jsonCompare writes $eq/$ne on a json or jsonb column: whole JSON values
// (SPEC §4.4, decision 0015), compared as PostgreSQL's jsonb compares them
// on both engines — object key order, white space and the spelling of a
// number (1, 1.0, 1e0) do not matter; array order and types do.
//
// PostgreSQL: `"c"::jsonb = $1::jsonb` (json has no equality operator; on
// a jsonb column the cast is a no-op, so an index on it still serves).
//
// SQLite has no jsonb, and json() only minifies, keeping key order, so the
// normalized form is json_tree's set of nodes (path, type, value), one
// row per node, numbers typed alike: two valid JSON values are equal when
// neither set has a node the other lacks. The bound value is given twice
// (one per direction). A NULL or a stored text that is not valid JSON
// (written by another program) compares as NULL, as SQL NULL does on
// PostgreSQL: it matches neither $eq nor $ne, nor their $not.
func (p *planner) jsonCompare(col *colEnv, op string, v any) {
	arg := col.bind(p.eng, v)
	if p.eng == enginePostgres {
		p.sb.WriteString(col.quoted)
		if col.kind == kJSON {
			p.sb.WriteString("::jsonb")
		}
		p.sb.WriteString(cmpSQL(op))
		p.param(arg)
		p.sb.WriteString("::jsonb")
		return
	}
	const nodes = "SELECT fullkey, iif(type = 'integer', 'real', type), atom FROM json_tree("
	if op == filter.OpNe {
		p.sb.WriteString("NOT ")
	}
	p.sb.WriteString("(CASE WHEN json_valid(")
	p.sb.WriteString(col.quoted)
	p.sb.WriteString(") THEN NOT EXISTS (" + nodes)
	p.sb.WriteString(col.quoted)
	p.sb.WriteString(") EXCEPT " + nodes)
	p.param(arg)
	p.sb.WriteString(")) AND NOT EXISTS (" + nodes)
	p.param(arg)
	p.sb.WriteString(") EXCEPT " + nodes)
	p.sb.WriteString(col.quoted)
	p.sb.WriteString(")) END)")
}

// selectPlan renders a select.
func (p *planner) selectPlan(ps *params, plan *Plan) error {
	lim := p.e.lim
	var cols []int
	star := true
	if raw := ps[pSelect]; raw != nil {
		names, isStar, err := columnList(raw, "select")
		if err != nil {
			return err
		}
		if !isStar {
			star = false
			cols = make([]int, len(names))
			for k, name := range names {
				if cols[k], err = p.readColumn(name, loc{base: "select", index: k}); err != nil {
					return err
				}
			}
		}
	}
	if star && len(p.read.star) == 0 {
		return apierr.New(apierr.Forbidden, "%s may not read any column of %s", who(&p.c), p.t.label)
	}
	var order []orderTerm
	var orderCols []int
	if raw := ps[pOrderBy]; raw != nil {
		var err error
		if order, err = orderByParam(raw); err != nil {
			return err
		}
		orderCols = make([]int, len(order))
		for k, o := range order {
			i, err := p.readColumn(o.col, at(o.path))
			if err != nil {
				return err
			}
			if !p.t.cols[i].orderable {
				return badParam(o.path, "column %q (%s) cannot be ordered by", clip(o.col), p.t.cols[i].typ)
			}
			orderCols[k] = i
		}
	}
	limit := int64(lim.DefaultLimit)
	if raw := ps[pLimit]; raw != nil {
		n, ok := intParam(raw)
		if !ok || n < 0 || n > int64(lim.MaxLimit) {
			return badParam("limit", "limit must be an integer from 0 to %d", lim.MaxLimit)
		}
		limit = n
	}
	var offset int64
	if raw := ps[pOffset]; raw != nil {
		n, ok := intParam(raw)
		if !ok || n < 0 {
			return badParam("offset", "offset must be an integer ≥ 0")
		}
		offset = n
	}
	count := false
	if raw := ps[pCount]; raw != nil {
		switch string(raw) {
		case "true":
			count = true
		case "false":
		default:
			return badParam("count", "count must be true or false")
		}
	}

	p.args = plan.argBuf[:0]
	p.sb.Grow(len(p.read.selectHead) + len(p.t.orderPK) + 128)
	if star {
		p.sb.WriteString(p.read.selectHead)
		plan.Columns = p.read.starColumns
	} else {
		p.sb.WriteString("SELECT ")
		plan.Columns = make([]Column, len(cols))
		for k, i := range cols {
			if k > 0 {
				p.sb.WriteByte(',')
			}
			p.sb.WriteString(p.t.cols[i].selExpr)
			plan.Columns[k] = Column{Name: p.t.cols[i].name, Type: p.t.cols[i].typ}
		}
		p.sb.WriteString(" FROM ")
		p.sb.WriteString(p.t.quoted)
	}
	whereStart := p.sb.Len()
	if err := p.where(ps, false); err != nil {
		return err
	}
	whereEnd := p.sb.Len()
	nFilter := len(p.args)
	// A lookup by primary key reads at most one row: order, limit and
	// offset change nothing, and without them PostgreSQL keeps one generic
	// plan for the prepared statement instead of planning every call again
	// (a bound LIMIT makes it prefer custom plans).
	if offset != 0 || limit == 0 || !p.t.pinsPK(p.filter) {
		p.orderAndPage(order, orderCols, limit, offset)
	}
	plan.SQL = p.sb.String()
	plan.Args = p.args
	if count {
		plan.CountSQL = "SELECT count(*) FROM " + p.t.quoted + plan.SQL[whereStart:whereEnd]
		plan.CountArgs = p.args[:nFilter:nFilter]
	}
	return nil
}

// orderAndPage writes ORDER BY (the primary key when order is nil, and as
// the tie-breaker after it), LIMIT and OFFSET.
func (p *planner) orderAndPage(order []orderTerm, orderCols []int, limit, offset int64) {
	if order == nil {
		p.sb.WriteString(p.t.orderPK)
	} else {
		p.sb.WriteString(" ORDER BY ")
		for k, o := range order {
			if k > 0 {
				p.sb.WriteString(", ")
			}
			p.sb.WriteString(p.t.cols[orderCols[k]].quoted)
			p.direction(o.desc)
		}
		for _, i := range p.t.pk {
			if !slices.Contains(orderCols, i) {
				p.sb.WriteString(", ")
				p.sb.WriteString(p.t.cols[i].quoted)
				p.direction(false)
			}
		}
	}
	p.sb.WriteString(" LIMIT ")
	p.param(limit)
	p.sb.WriteString(" OFFSET ")
	p.param(offset)
}

func (p *planner) direction(desc bool) {
	switch {
	case p.eng == enginePostgres && desc:
		p.sb.WriteString(" DESC")
	case p.eng == enginePostgres:
		p.sb.WriteString(" ASC")
	case desc:
		p.sb.WriteString(" DESC NULLS FIRST")
	default:
		p.sb.WriteString(" ASC NULLS LAST")
	}
}

// returning reads params.returning and writes " RETURNING …".
func (p *planner) returning(ps *params, plan *Plan) error {
	raw := ps[pReturning]
	star := raw == nil
	switch {
	case raw != nil && string(raw) == "false":
		return nil
	case raw != nil && string(raw) == "true":
		// SPEC §4.3 allows "*", a list or false: true would be a guess.
		return badParam("returning", `returning must be "*", an array of column names or false`)
	}
	if !star {
		names, isStar, err := columnList(raw, "returning")
		if err != nil {
			if raw[0] != '"' && raw[0] != '[' {
				return badParam("returning", `returning must be "*", an array of column names or false`)
			}
			return err
		}
		if !isStar {
			p.sb.WriteString(" RETURNING ")
			plan.Columns = make([]Column, len(names))
			for k, name := range names {
				i, err := p.readColumn(name, loc{base: "returning", index: k})
				if err != nil {
					return err
				}
				if k > 0 {
					p.sb.WriteByte(',')
				}
				p.sb.WriteString(p.t.cols[i].selExpr)
				plan.Columns[k] = Column{Name: name, Type: p.t.cols[i].typ}
			}
			return nil
		}
	}
	if p.read == nil {
		return nil
	}
	if p.read.unsupported {
		return errConditions()
	}
	p.sb.WriteString(p.read.returning)
	plan.Columns = p.read.starColumns
	return nil
}

// writeColumn resolves a column of data: known (400), not generated (400),
// writable under the op's rule (403).
func (p *planner) writeColumn(name string, path loc) (int, error) {
	i, err := p.column(name, path)
	if err != nil {
		return 0, err
	}
	col := &p.t.cols[i]
	if col.generated {
		return 0, badParam(path.String(), "column %q of %s is generated and cannot be written", clip(name), p.t.label)
	}
	if !p.rule.allowed[i] {
		return 0, apierr.New(apierr.Forbidden, "%s may not write column %q of %s", who(&p.c), clip(name), p.t.label)
	}
	return i, nil
}

// dataValue converts one value of data for column i (400 on type or
// NOT NULL; 403 when it is the owner column and differs from the caller).
func (p *planner) dataValue(i int, v any, path loc) (any, error) {
	col := &p.t.cols[i]
	cv, prob := col.value(p.eng, v)
	if prob != "" {
		return nil, badParam(path.String(), "column %q (%s): %s", clip(col.name), col.typ, prob)
	}
	if cv == nil && !col.nullable {
		return nil, badParam(path.String(), "column %q of %s cannot be null", clip(col.name), p.t.label)
	}
	if p.owner != nil && i == p.t.owner && !sameValue(cv, p.owner) {
		return nil, apierr.New(apierr.Forbidden, "column %q of %s is the owner column: it can only be set to the caller's own id", clip(col.name), p.t.label)
	}
	return cv, nil
}

func sameValue(a, b any) bool {
	switch a := a.(type) {
	case string:
		s, ok := b.(string)
		return ok && a == s
	case int64:
		n, ok := b.(int64)
		return ok && a == n
	case float64:
		f, ok := b.(float64)
		return ok && a == f
	}
	return false
}

// decodeObjects decodes data: one object or an array of objects.
func decodeData(raw []byte) ([]map[string]any, bool, error) {
	switch raw[0] {
	case '{':
		m, err := jsonscan.Decode(raw)
		if err != nil {
			return nil, false, badParam("data", "data must be an object or an array of objects")
		}
		return []map[string]any{m.(map[string]any)}, false, nil
	case '[':
		v, err := jsonscan.Decode(raw)
		if err != nil {
			return nil, true, badParam("data", "data must be an object or an array of objects")
		}
		rows := v.([]any)
		out := make([]map[string]any, len(rows))
		for k, r := range rows {
			m, ok := r.(map[string]any)
			if !ok {
				return nil, true, badParam(pathIndex("data", k), "data rows must be objects")
			}
			out[k] = m
		}
		return out, true, nil
	}
	return nil, false, badParam("data", "data must be an object or an array of objects")
}

// sortedKeys lists a row's keys (the order of data's columns is the
// table's, fixed below).
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// insertPlan renders an insert.
func (p *planner) insertPlan(ps *params, plan *Plan) error {
	raw := ps[pData]
	if raw == nil {
		return badParam("data", "insert needs data: an object or an array of objects")
	}
	rows, batch, err := decodeData(raw)
	if err != nil {
		return err
	}
	if len(rows) == 0 || len(rows) > p.e.lim.MaxBatch {
		return badParam("data", "data must hold 1 to %d rows", p.e.lim.MaxBatch)
	}
	rowPath := func(k int) loc {
		if batch {
			return loc{base: "data", index: k}
		}
		return at("data")
	}
	// Columns of the first row, in table order.
	var cols []int
	for _, name := range sortedKeys(rows[0]) {
		i, err := p.writeColumn(name, rowPath(0).with(name))
		if err != nil {
			return err
		}
		cols = append(cols, i)
	}
	addOwner := p.owner != nil && !slices.Contains(cols, p.t.owner)
	if addOwner {
		cols = append(cols, p.t.owner)
	}
	slices.Sort(cols)
	if len(cols) == 0 {
		return badParam(rowPath(0).String(), "a data row must set at least one column")
	}
	// Values, row by row, into the one JSON argument.
	buf := make([]byte, 0, 64*len(rows)*len(cols))
	buf = append(buf, '[')
	for k, row := range rows {
		want := len(cols)
		if addOwner {
			want--
		}
		if len(row) != want {
			return badParam(rowPath(k).String(), "every row of a batch must set the same columns as data[0]")
		}
		if k > 0 {
			buf = append(buf, ',')
		}
		if p.eng == enginePostgres {
			buf = append(buf, '{')
		} else {
			buf = append(buf, '[')
		}
		for n, i := range cols {
			col := &p.t.cols[i]
			var cv any
			if addOwner && i == p.t.owner {
				cv = p.owner
			} else {
				v, ok := row[col.name]
				if !ok {
					return badParam(rowPath(k).String(), "every row of a batch must set the same columns as data[0]")
				}
				if cv, err = p.dataValue(i, v, rowPath(k).with(col.name)); err != nil {
					return err
				}
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			if p.eng == enginePostgres {
				buf = jsonscan.AppendString(buf, col.name)
				buf = append(buf, ':')
				buf = appendJSONValue(buf, cv, enginePostgres)
			} else {
				buf = appendSQLiteCell(buf, col, cv)
			}
		}
		if p.eng == enginePostgres {
			buf = append(buf, '}')
		} else {
			buf = append(buf, ']')
		}
	}
	buf = append(buf, ']')

	p.args = plan.argBuf[:0]
	p.sb.WriteString("INSERT INTO ")
	p.sb.WriteString(p.t.quoted)
	p.sb.WriteString(" (")
	for n, i := range cols {
		if n > 0 {
			p.sb.WriteByte(',')
		}
		p.sb.WriteString(p.t.cols[i].quoted)
	}
	p.sb.WriteString(") SELECT ")
	if p.eng == enginePostgres {
		for n, i := range cols {
			if n > 0 {
				p.sb.WriteByte(',')
			}
			p.sb.WriteString(p.t.cols[i].quoted)
		}
		p.sb.WriteString(" FROM json_to_recordset(")
		p.param(string(buf))
		p.sb.WriteString("::json) AS x(")
		for n, i := range cols {
			if n > 0 {
				p.sb.WriteByte(',')
			}
			p.sb.WriteString(p.t.cols[i].quoted)
			p.sb.WriteByte(' ')
			p.sb.WriteString(p.t.cols[i].recType)
		}
		p.sb.WriteByte(')')
	} else {
		for n, i := range cols {
			if n > 0 {
				p.sb.WriteByte(',')
			}
			bytea := p.t.cols[i].kind == kBytea && !p.t.cols[i].array
			if bytea {
				p.sb.WriteString("unhex(")
			}
			p.sb.WriteString("json_extract(j.value, '$[")
			p.writeInt(int64(n))
			p.sb.WriteString("]')")
			if bytea {
				p.sb.WriteByte(')')
			}
		}
		p.sb.WriteString(" FROM json_each(")
		p.param(string(buf))
		p.sb.WriteString(") AS j")
	}
	retFrom := p.sb.Len()
	if err := p.returning(ps, plan); err != nil {
		return err
	}
	if err := p.checkWritten(plan, retFrom); err != nil {
		return err
	}
	plan.SQL = p.sb.String()
	plan.Args = p.args
	plan.Write = true
	return nil
}

// appendSQLiteCell writes one value of a SQLite insert row: what
// json_extract must return for the column.
func appendSQLiteCell(b []byte, col *colEnv, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if v {
			return append(b, '1')
		}
		return append(b, '0')
	case []byte:
		return jsonscan.AppendString(b, hexString(v))
	case []any, rawJSON:
		return jsonscan.AppendString(b, string(appendJSONValue(nil, v, engineSQLite)))
	}
	return appendJSONValue(b, v, engineSQLite)
}

// updatePlan renders an update.
func (p *planner) updatePlan(ps *params, plan *Plan) error {
	raw := ps[pData]
	if raw == nil || raw[0] != '{' {
		return badParam("data", "update needs data: an object of the columns to set")
	}
	rows, _, err := decodeData(raw)
	if err != nil {
		return err
	}
	row := rows[0]
	if len(row) == 0 {
		return badParam("data", "update data must set at least one column")
	}
	cols := make([]int, 0, len(row))
	for _, name := range sortedKeys(row) {
		i, err := p.writeColumn(name, at("data").with(name))
		if err != nil {
			return err
		}
		cols = append(cols, i)
	}
	slices.Sort(cols)
	vals := make([]any, len(cols))
	for n, i := range cols {
		if vals[n], err = p.dataValue(i, row[p.t.cols[i].name], at("data").with(p.t.cols[i].name)); err != nil {
			return err
		}
	}
	p.args = plan.argBuf[:0]
	p.sb.WriteString("UPDATE ")
	p.sb.WriteString(p.t.quoted)
	p.sb.WriteString(" SET ")
	for n, i := range cols {
		col := &p.t.cols[i]
		if n > 0 {
			p.sb.WriteString(", ")
		}
		p.sb.WriteString(col.quoted)
		p.sb.WriteString(" = ")
		p.param(col.bind(p.eng, vals[n]))
	}
	return p.filteredWrite(ps, plan)
}

// filteredWrite ends an update or delete: its required where, returning,
// and the affected-row cap.
func (p *planner) filteredWrite(ps *params, plan *Plan) error {
	if err := p.where(ps, true); err != nil {
		return err
	}
	retFrom := p.sb.Len()
	if err := p.returning(ps, plan); err != nil {
		return err
	}
	if p.op == 2 {
		if err := p.checkWritten(plan, retFrom); err != nil {
			return err
		}
	}
	plan.SQL = p.sb.String()
	plan.Args = p.args
	plan.Write = true
	plan.CapAffected = true
	return nil
}

// deletePlan renders a delete.
func (p *planner) deletePlan(ps *params, plan *Plan) error {
	p.args = plan.argBuf[:0]
	p.sb.WriteString("DELETE FROM ")
	p.sb.WriteString(p.t.quoted)
	return p.filteredWrite(ps, plan)
}

// likeOK reports whether a LIKE pattern does not end in a lone escape.
func likeOK(pat string) bool {
	for i := 0; i < len(pat); i++ {
		if pat[i] == '\\' {
			if i == len(pat)-1 {
				return false
			}
			i++
		}
	}
	return true
}

// likeToGlob translates a LIKE pattern (backslash escapes) into a GLOB
// pattern with the same matches, case-sensitive.
func likeToGlob(pat string) string {
	var b strings.Builder
	b.Grow(len(pat) + 8)
	lit := func(c byte) {
		switch c {
		case '*', '?', '[':
			b.WriteByte('[')
			b.WriteByte(c)
			b.WriteByte(']')
		default:
			b.WriteByte(c)
		}
	}
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; c {
		case '\\':
			i++
			lit(pat[i])
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		default:
			lit(c)
		}
	}
	return b.String()
}
