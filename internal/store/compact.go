package store

import (
	"context"
	"log/slog"
	"time"
)

// Compactor discards store history older than Retention, so watches can
// resume from any revision of the last Retention and older ones get
// ErrCompacted. Like Kubernetes it compacts to the revision it saw one
// period ago, so several servers against one etcd do not race.
type Compactor struct {
	Store     *Store
	Retention time.Duration
	// Interval between compactions; Retention/5 when zero.
	Interval time.Duration
	Log      *slog.Logger
}

type revAt struct {
	rev int64
	at  time.Time
}

// Start compacts until ctx ends.
func (c *Compactor) Start(ctx context.Context) error {
	interval := c.Interval
	if interval <= 0 {
		interval = c.Retention / 5
	}
	if interval <= 0 {
		return nil
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var seen []revAt
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			rev, err := c.Store.Revision(ctx)
			if err != nil {
				c.Log.Warn("compaction: read revision", "err", err)
				continue
			}
			seen = append(seen, revAt{rev, now})
			seen = c.compactOld(ctx, seen, now)
		}
	}
}

// compactOld compacts to the newest revision seen at least Retention ago
// and returns the samples still needed.
func (c *Compactor) compactOld(ctx context.Context, seen []revAt, now time.Time) []revAt {
	target := int64(0)
	i := 0
	for ; i < len(seen) && now.Sub(seen[i].at) >= c.Retention; i++ {
		target = seen[i].rev
	}
	if target == 0 {
		return seen
	}
	if err := c.Store.Compact(ctx, target); err != nil {
		c.Log.Warn("compaction failed", "revision", target, "err", err)
		return seen
	}
	c.Log.Debug("compacted", "revision", target)
	return seen[i:]
}
