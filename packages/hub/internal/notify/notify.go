// Package notify wakes the Hub's bundle long polls (SPEC §8.1) when an env's
// revision changes in this process. Hubs sharing a PostgreSQL store also
// re-read the revision periodically, so a change made by another replica
// is seen within that period.
package notify

import "sync"

// Hub hands out per-env channels that close on the env's next change.
type Hub struct {
	mu    sync.Mutex
	chans map[string]chan struct{}
}

// New returns an empty Hub.
func New() *Hub { return &Hub{chans: map[string]chan struct{}{}} }

// Wait returns a channel closed at the next Changed(envID). Take it before
// reading the revision, so a change between the read and the wait is not
// missed.
func (h *Hub) Wait(envID string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.chans[envID]
	if !ok {
		ch = make(chan struct{})
		h.chans[envID] = ch
	}
	return ch
}

// Changed wakes every waiter of envID.
func (h *Hub) Changed(envID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch, ok := h.chans[envID]; ok {
		close(ch)
		delete(h.chans, envID)
	}
}
