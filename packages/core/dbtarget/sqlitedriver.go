package dbtarget

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"

	"modernc.org/sqlite"
)

// SQLiteConnector opens SQLite databases whose statements cannot reach
// another file: every connection refuses ATTACH and DETACH (VACUUM INTO
// attaches its target too), since a statement — a logic's (SPEC §6) —
// could otherwise open or create a database the policy never checked,
// outside STK_SQLITE_DIR or the server's own, and leave it attached to a
// pooled connection. It also refuses setting the pragmas named in pinned:
// the settings the opener's DSN gives every connection (a readonly
// logic's PRAGMA query_only=0 would leave its pooled connection writable).
// Use it with database/sql's OpenDB, one per DSN.
func SQLiteConnector(dsn string, pinned ...string) driver.Connector {
	d := &sqlite.Driver{}
	d.RegisterConnectionHook(func(c sqlite.ExecQuerierContext, _ string) error {
		r, ok := c.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("the sqlite driver has no authorizer")
		}
		return r.RegisterAuthorizer(func(action sqlite.AuthorizerActionCode, arg1, arg2, _, _ string) sqlite.AuthorizerReturnCode {
			switch {
			case action == sqlite.AuthAttach || action == sqlite.AuthDetach:
				return sqlite.AuthorizerDeny
			case action == sqlite.AuthPragma && arg2 != "":
				for _, p := range pinned {
					if strings.EqualFold(arg1, p) {
						return sqlite.AuthorizerDeny
					}
				}
			}
			return sqlite.AuthorizerOK
		})
	})
	return connector{d: d, dsn: dsn}
}

type connector struct {
	d   *sqlite.Driver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.d }
