// Package notify wakes the Hub's bundle long polls (SPEC §8.1) when an env's
// revision changes. Changes made through this process call Changed
// directly; on a PostgreSQL store, changes made by any replica arrive
// through LISTEN/NOTIFY (store.WatchRevisions) and call it too. Waiters
// also re-read the revision periodically, the safety net for a lost
// notification.
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

// ChangedAll wakes every waiter of every env, so that each re-reads its
// revision: for when changes may have been missed (the store's LISTEN
// connection was re-established).
func (h *Hub) ChangedAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, ch := range h.chans {
		close(ch)
		delete(h.chans, id)
	}
}
