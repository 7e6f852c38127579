package schema

import "strings"

// PGType describes a PostgreSQL type as the catalog (pg_type) gives it, with
// the types it is built on already looked up, so that NormalizePostgres stays
// a pure function.
type PGType struct {
	// Name is pg_type.typname ("int4", "_text", "my_enum").
	Name string
	// Kind is pg_type.typtype: "b" base, "e" enum, "d" domain, "c"
	// composite, "r" range, "m" multirange, "p" pseudo.
	Kind string
	// Elem is the element type of an array type (typcategory 'A'); nil
	// otherwise. Fixed-length types with a typelem (point, name, int2vector)
	// are not arrays and carry no Elem.
	Elem *PGType
	// Base is the base type of a domain (typbasetype); nil otherwise.
	Base *PGType
}

// pgScalars maps PostgreSQL base type names to normalized types (SPEC §1).
//
// Decisions:
//   - "char" (the one-byte internal type), name and citext read as text.
//   - Serial and identity columns are plain int2/int4/int8 in the catalog and
//     map like them.
//   - timetz maps to other, not time: its values carry a UTC offset, which a
//     time-of-day encoding (and SQLite's TIME) cannot round-trip, and
//     PostgreSQL itself discourages the type.
//   - interval, money, inet, cidr, macaddr, bit, varbit, xml, geometric
//     types, tsvector, oid and reg* types map to other.
var pgScalars = map[string]string{
	"text":        Text,
	"varchar":     Text,
	"bpchar":      Text,
	"char":        Text,
	"name":        Text,
	"citext":      Text,
	"int2":        Integer,
	"int4":        Integer,
	"int8":        Bigint,
	"numeric":     Numeric,
	"float4":      Float,
	"float8":      Float,
	"bool":        Boolean,
	"timestamptz": Timestamptz,
	"timestamp":   Timestamp,
	"date":        Date,
	"time":        Time,
	"uuid":        UUID,
	"json":        JSON,
	"jsonb":       JSONB,
	"bytea":       Bytea,
}

// maxPGTypeDepth bounds domain/array nesting, so that a malformed (cyclic)
// description cannot loop forever. Real catalogs nest a few levels at most.
const maxPGTypeDepth = 32

// NormalizePostgres maps a PostgreSQL type to the normalized vocabulary of
// SPEC §1: enums read as text, domains as their base type, arrays as
// "array<T>" of their element's normalized type, and anything without an
// equivalent (composites, ranges, geometric and network types, …) as other.
func NormalizePostgres(t PGType) string {
	return normalizePG(&t, 0)
}

func normalizePG(t *PGType, depth int) string {
	if t == nil || depth > maxPGTypeDepth {
		return Other
	}
	switch {
	case t.Kind == "d":
		return normalizePG(t.Base, depth+1)
	case t.Elem != nil:
		elem := normalizePG(t.Elem, depth+1)
		if _, nested := ElemType(elem); nested {
			// An array of a domain over an array: no normalized equivalent.
			return Other
		}
		return ArrayOf(elem)
	case t.Kind == "e":
		return Text
	case t.Kind == "b" || t.Kind == "":
		if n, ok := pgScalars[t.Name]; ok {
			return n
		}
	}
	return Other
}

// sqliteNames maps common declared SQLite type names (upper case, without
// length/precision arguments, single-spaced) to normalized types. They are
// checked before SQLite's affinity rules because affinity alone cannot tell
// a BOOLEAN or a DATE from a NUMERIC.
//
// Decisions:
//   - SQLite integers are all 64-bit, so INTEGER, INT, BIGINT and INT8 map to
//     bigint (an INTEGER PRIMARY KEY is the 64-bit rowid); only names that
//     declare a small range (SMALLINT, INT2, TINYINT, MEDIUMINT, INT4) map to
//     integer.
//   - SQLite has no time zones, so the declared name decides, as SPEC §1
//     says: DATETIME and TIMESTAMP map to timestamp (PostgreSQL's timestamp,
//     the type a schema ported from MySQL or PostgreSQL means by them), and
//     only names that say so — TIMESTAMPTZ, TIMESTAMP WITH TIME ZONE — map
//     to timestamptz. One schema then reads the same on both engines
//     (decision 0015). TIMETZ maps to other, as on PostgreSQL.
//   - BLOB and BYTEA map to bytea; an empty declared type (BLOB affinity,
//     values stored as given) maps to other.
var sqliteNames = map[string]string{
	"TEXT":                        Text,
	"VARCHAR":                     Text,
	"CHAR":                        Text,
	"CHARACTER":                   Text,
	"CHARACTER VARYING":           Text,
	"VARYING CHARACTER":           Text,
	"NCHAR":                       Text,
	"NATIVE CHARACTER":            Text,
	"NVARCHAR":                    Text,
	"CLOB":                        Text,
	"CITEXT":                      Text,
	"INTEGER":                     Bigint,
	"INT":                         Bigint,
	"BIGINT":                      Bigint,
	"INT8":                        Bigint,
	"UNSIGNED BIG INT":            Bigint,
	"SMALLINT":                    Integer,
	"INT2":                        Integer,
	"TINYINT":                     Integer,
	"MEDIUMINT":                   Integer,
	"INT4":                        Integer,
	"NUMERIC":                     Numeric,
	"DECIMAL":                     Numeric,
	"REAL":                        Float,
	"FLOAT":                       Float,
	"FLOAT4":                      Float,
	"FLOAT8":                      Float,
	"DOUBLE":                      Float,
	"DOUBLE PRECISION":            Float,
	"BOOLEAN":                     Boolean,
	"BOOL":                        Boolean,
	"TIMESTAMPTZ":                 Timestamptz,
	"TIMESTAMP WITH TIME ZONE":    Timestamptz,
	"DATETIME":                    Timestamp,
	"TIMESTAMP":                   Timestamp,
	"TIMESTAMP WITHOUT TIME ZONE": Timestamp,
	"DATE":                        Date,
	"TIME":                        Time,
	"TIME WITHOUT TIME ZONE":      Time,
	"TIMETZ":                      Other,
	"TIME WITH TIME ZONE":         Other,
	"UUID":                        UUID,
	"JSON":                        JSON,
	"JSONB":                       JSONB,
	"BLOB":                        Bytea,
	"BYTEA":                       Bytea,
}

// NormalizeSQLite maps a column's declared SQLite type to the normalized
// vocabulary of SPEC §1: the common names of sqliteNames first, then SQLite's
// type affinity rules (https://www.sqlite.org/datatype3.html §3.1) in their
// order — contains INT → bigint; CHAR, CLOB or TEXT → text; BLOB → bytea;
// REAL, FLOA or DOUB → float; anything else → numeric. An empty declared type
// is other.
func NormalizeSQLite(declType string) string {
	name := strings.ToUpper(declType)
	if i := strings.IndexByte(name, '('); i >= 0 {
		// VARCHAR(255), DECIMAL(10,2); what follows the arguments still
		// counts: TIMESTAMP(3) WITH TIME ZONE.
		rest := ""
		if j := strings.IndexByte(name[i:], ')'); j >= 0 {
			rest = " " + name[i+j+1:]
		}
		name = name[:i] + rest
	}
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return Other
	}
	if n, ok := sqliteNames[name]; ok {
		return n
	}
	switch {
	case strings.Contains(name, "INT"):
		return Bigint
	case strings.Contains(name, "CHAR"), strings.Contains(name, "CLOB"), strings.Contains(name, "TEXT"):
		return Text
	case strings.Contains(name, "BLOB"):
		return Bytea
	case strings.Contains(name, "REAL"), strings.Contains(name, "FLOA"), strings.Contains(name, "DOUB"):
		return Float
	}
	return Numeric
}
