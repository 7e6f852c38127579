//go:build !unix

package credentials

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"
)

// lockFile takes the lock by creating path exclusively (no flock here); a
// crashed holder leaves the file behind, which is reported, not broken.
func lockFile(ctx context.Context, path string) (func(), error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, errors.New("another stk process holds the lock (remove " + path + " if none runs): " + ctx.Err().Error())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
