package expectations

import (
	"testing"
	"time"
)

func TestExpectations(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	e := New(func() time.Time { return now })
	if !e.Satisfied("ns/a") {
		t.Fatal("nothing recorded must be satisfied")
	}
	e.Expect("ns/a", 2, []string{"ns/p1"})
	e.CreationsObserved("ns/a", 1)
	e.DeletionObserved("ns/a", "ns/p1")
	e.DeletionObserved("ns/a", "ns/p1") // reported twice, counted once
	if e.Satisfied("ns/a") {
		t.Fatal("satisfied with one create outstanding")
	}
	e.CreationsObserved("ns/a", 1)
	if !e.Satisfied("ns/a") {
		t.Fatal("not satisfied after everything was observed")
	}
	e.ExpectCreations("ns/b", 1)
	now = now.Add(TTL + time.Second)
	if !e.Satisfied("ns/b") {
		t.Fatal("an expectation older than the TTL must not block")
	}
	e.ExpectDeletions("ns/c", []string{"ns/x"})
	e.Forget("ns/c")
	if !e.Satisfied("ns/c") {
		t.Fatal("forgotten owner still blocked")
	}
}
