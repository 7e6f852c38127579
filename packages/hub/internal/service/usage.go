package service

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/santokit/santokit/packages/core/apierr"
	"github.com/santokit/santokit/packages/core/hubapi"
	"github.com/santokit/santokit/packages/core/ids"
	"github.com/santokit/santokit/packages/hub/internal/store"
)

// RecordAPIKeyUsage stores a Bridge's usage report (POST
// /internal/v1/apikeys/usage): each key's lastUsedAt moves forward, never
// back. A time ahead of the Hub's clock is taken as now, so a Bridge with a
// fast clock cannot put lastUsedAt in the future. Unknown keys are ignored:
// a key deleted since the Bridge saw it used is no error. Nothing here bumps
// a revision or writes an audit event (SPEC §8.1).
func (s *Service) RecordAPIKeyUsage(ctx context.Context, in hubapi.APIKeyUsage) (hubapi.APIKeyUsageRecorded, error) {
	if len(in.Keys) > hubapi.MaxAPIKeyUsageBatch {
		return hubapi.APIKeyUsageRecorded{}, apierr.New(apierr.BadRequest, "a usage report holds at most %d keys, got %d", hubapi.MaxAPIKeyUsageBatch, len(in.Keys)).
			WithDetail("problems", []apierr.Problem{{Path: "keys", Message: fmt.Sprintf("at most %d", hubapi.MaxAPIKeyUsageBatch)}})
	}
	now := s.now()
	latest := make(map[string]time.Time, len(in.Keys))
	for i, u := range in.Keys {
		switch {
		case !ids.Valid(ids.Key, u.KeyID):
			return hubapi.APIKeyUsageRecorded{}, apierr.New(apierr.BadRequest, "keys[%d].keyId %q is malformed: want key_…", i, clip(u.KeyID)).
				WithDetail("problems", []apierr.Problem{{Path: fmt.Sprintf("keys[%d].keyId", i), Message: "want key_…"}})
		case u.LastUsedAt.IsZero():
			return hubapi.APIKeyUsageRecorded{}, apierr.New(apierr.BadRequest, "keys[%d].lastUsedAt is required", i).
				WithDetail("problems", []apierr.Problem{{Path: fmt.Sprintf("keys[%d].lastUsedAt", i), Message: "required"}})
		}
		at := u.LastUsedAt.UTC().Truncate(time.Microsecond)
		if at.After(now) {
			at = now
		}
		if prev, ok := latest[u.KeyID]; !ok || at.After(prev) {
			latest[u.KeyID] = at
		}
	}
	// In key order: two Bridges' reports then lock the same rows in the
	// same order and cannot deadlock each other on PostgreSQL.
	uses := make([]store.KeyUse, 0, len(latest))
	for _, id := range slices.Sorted(maps.Keys(latest)) {
		uses = append(uses, store.KeyUse{KeyID: id, LastUsedAt: latest[id]})
	}
	n, err := s.store.TouchAPIKeys(ctx, uses)
	if err != nil {
		return hubapi.APIKeyUsageRecorded{}, storeErr(err, "API keys")
	}
	return hubapi.APIKeyUsageRecorded{Recorded: n}, nil
}
