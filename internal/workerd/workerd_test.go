package workerd

import (
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	cfg, err := Config(map[string]string{"STK_HUB_URL": "http://127.0.0.1:1", "STK_BRIDGE_TOKEN": `a"b`},
		map[string]string{"main": "postgres://u:p%40ss@127.0.0.1:5432/data?sslmode=disable"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`(name = "STK_BRIDGE_TOKEN", text = "a\"b")`,
		`(name = "HYPERDRIVE_MAIN", hyperdrive = (designator = "db0", database = "data", user = "u", password = "p@ss", scheme = "postgresql"))`,
		`(name = "db0", external = (address = "127.0.0.1:5432", tcp = ()))`,
		`compatibilityFlags = ["nodejs_compat"]`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %s:\n%s", want, cfg)
		}
	}
	if _, err := Config(nil, map[string]string{"main": "sqlite:///tmp/x.db"}); err == nil {
		t.Error("a sqlite URL became a Hyperdrive binding")
	}
}
