package cgroup

import (
	"testing"
	"time"
)

// TestMembersRSSReusedWhileIdle: the members' memory is read afresh once
// the group has used a millisecond of CPU or after rssMaxReuse samples,
// and reused in between.
func TestMembersRSSReusedWhileIdle(t *testing.T) {
	var f openFiles
	if _, ok := f.idleSince(0); ok {
		t.Fatal("reused a figure never read")
	}
	f.remember(10*time.Millisecond, 4096)
	for i := range rssMaxReuse {
		rss, ok := f.idleSince(10*time.Millisecond + time.Duration(i)*50*time.Microsecond)
		if !ok || rss != 4096 {
			t.Fatalf("sample %d of an idle group: read afresh, want the last figure reused", i)
		}
	}
	if _, ok := f.idleSince(10 * time.Millisecond); ok {
		t.Fatalf("reused more than %d samples in a row", rssMaxReuse)
	}
	f.remember(10*time.Millisecond, 4096)
	if _, ok := f.idleSince(11 * time.Millisecond); ok {
		t.Fatal("reused after a millisecond of CPU")
	}
}
