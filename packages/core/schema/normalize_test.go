package schema

import "testing"

func TestNormalizePostgres(t *testing.T) {
	base := func(name string) *PGType { return &PGType{Name: name, Kind: "b"} }
	arr := func(name string, elem *PGType) PGType { return PGType{Name: name, Kind: "b", Elem: elem} }
	dom := func(name string, b *PGType) *PGType { return &PGType{Name: name, Kind: "d", Base: b} }
	cases := []struct {
		name string
		in   PGType
		want string
	}{
		{"text", *base("text"), Text},
		{"varchar", *base("varchar"), Text},
		{"bpchar", *base("bpchar"), Text},
		{"char", *base("char"), Text},
		{"name", *base("name"), Text},
		{"citext", *base("citext"), Text},
		{"enum", PGType{Name: "mood", Kind: "e"}, Text},
		{"int2", *base("int2"), Integer},
		{"int4", *base("int4"), Integer},
		{"int8", *base("int8"), Bigint},
		{"numeric", *base("numeric"), Numeric},
		{"float4", *base("float4"), Float},
		{"float8", *base("float8"), Float},
		{"bool", *base("bool"), Boolean},
		{"timestamptz", *base("timestamptz"), Timestamptz},
		{"timestamp", *base("timestamp"), Timestamp},
		{"date", *base("date"), Date},
		{"time", *base("time"), Time},
		{"timetz", *base("timetz"), Other},
		{"uuid", *base("uuid"), UUID},
		{"json", *base("json"), JSON},
		{"jsonb", *base("jsonb"), JSONB},
		{"bytea", *base("bytea"), Bytea},
		{"inet", *base("inet"), Other},
		{"interval", *base("interval"), Other},
		{"point", *base("point"), Other},
		{"composite", PGType{Name: "addr", Kind: "c"}, Other},
		{"range", PGType{Name: "int4range", Kind: "r"}, Other},
		{"pseudo", PGType{Name: "record", Kind: "p"}, Other},
		{"int4[]", arr("_int4", base("int4")), ArrayOf(Integer)},
		{"text[]", arr("_text", base("text")), ArrayOf(Text)},
		{"enum[]", arr("_mood", &PGType{Name: "mood", Kind: "e"}), ArrayOf(Text)},
		{"inet[]", arr("_inet", base("inet")), ArrayOf(Other)},
		{"domain over text", *dom("email", base("text")), Text},
		{"domain over domain", *dom("work_email", dom("email", base("text"))), Text},
		{"domain over int8[]", *dom("ids", &PGType{Name: "_int8", Kind: "b", Elem: base("int8")}), ArrayOf(Bigint)},
		{"array of domain", arr("_email", dom("email", base("text"))), ArrayOf(Text)},
		{"array of domain over array", arr("_ids", dom("ids", &PGType{Name: "_int8", Kind: "b", Elem: base("int8")})), Other},
		{"domain without base", PGType{Name: "broken", Kind: "d"}, Other},
		{"unknown base", *base("tsvector"), Other},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := NormalizePostgres(c.in); got != c.want {
				t.Errorf("NormalizePostgres(%s) = %q, want %q", c.name, got, c.want)
			}
		})
	}
}

func TestNormalizePostgresCycle(t *testing.T) {
	d := &PGType{Name: "loop", Kind: "d"}
	d.Base = d
	if got := NormalizePostgres(*d); got != Other {
		t.Errorf("cyclic domain = %q, want %q", got, Other)
	}
}

func TestNormalizeSQLite(t *testing.T) {
	cases := []struct {
		decl, want string
	}{
		// Recognized names.
		{"TEXT", Text},
		{"text", Text},
		{"VARCHAR(255)", Text},
		{"varchar (32)", Text},
		{"CHAR(2)", Text},
		{"CHARACTER(20)", Text},
		{"NCHAR(55)", Text},
		{"NATIVE CHARACTER(70)", Text},
		{"NVARCHAR(100)", Text},
		{"CLOB", Text},
		{"INTEGER", Bigint},
		{"integer", Bigint},
		{"INT", Bigint},
		{"BIGINT", Bigint},
		{"INT8", Bigint},
		{"UNSIGNED BIG INT", Bigint},
		{"SMALLINT", Integer},
		{"INT2", Integer},
		{"TINYINT", Integer},
		{"MEDIUMINT", Integer},
		{"INT4", Integer},
		{"NUMERIC", Numeric},
		{"DECIMAL(10,5)", Numeric},
		{"numeric(12, 2)", Numeric},
		{"REAL", Float},
		{"FLOAT", Float},
		{"DOUBLE", Float},
		{"DOUBLE PRECISION", Float},
		{"BOOLEAN", Boolean},
		{"bool", Boolean},
		{"DATETIME", Timestamp},
		{"datetime(6)", Timestamp},
		{"TIMESTAMP(3) WITH TIME ZONE", Timestamptz},
		{"TIMESTAMP(3) WITHOUT TIME ZONE", Timestamp},
		{"TIMESTAMPTZ(6)", Timestamptz},
		{"TIMESTAMPTZ", Timestamptz},
		{"TIMESTAMP", Timestamp},
		{"timestamp  with  time zone", Timestamptz},
		{"DATE", Date},
		{"TIME", Time},
		{"TIMETZ", Other},
		{"UUID", UUID},
		{"JSON", JSON},
		{"JSONB", JSONB},
		{"BLOB", Bytea},
		{"BYTEA", Bytea},
		{"", Other},
		{"   ", Other},
		// Affinity rules, in SQLite's order.
		{"BIGSERIAL INTEGER", Bigint},
		{"FLOATING POINT", Bigint}, // contains INT: SQLite's own (surprising) rule
		{"CHARINT", Bigint},        // INT wins over CHAR
		{"LONGTEXT", Text},
		{"MEDIUMCLOB", Text},
		{"LONGBLOB", Bytea},
		{"DOUBLE FLOAT", Float},
		{"REALLY", Float},
		{"STRING", Numeric}, // NUMERIC affinity in SQLite, not TEXT
		{"MONEY", Numeric},
		{"INET", Numeric},
	}
	for _, c := range cases {
		if got := NormalizeSQLite(c.decl); got != c.want {
			t.Errorf("NormalizeSQLite(%q) = %q, want %q", c.decl, got, c.want)
		}
	}
}
