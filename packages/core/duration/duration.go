// Package duration parses the durations of SPEC §2: Go-style ("30s", "10m",
// "1h30m") plus whole days ("90d"), used by flags such as `--expires 90d`
// and by configuration such as STK_BUNDLE_MAX_STALE.
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDays keeps day counts far from time.Duration overflow (~292 years).
const maxDays = 36500

// Parse reads a positive duration: "<N>d" or anything time.ParseDuration
// accepts.
func Parse(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > maxDays {
			return 0, fmt.Errorf("duration %q: want a whole number of days such as 90d, or a Go duration such as 30s or 12h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("duration %q: want a positive duration such as 30s, 10m, 12h or 90d", s)
	}
	return d, nil
}
