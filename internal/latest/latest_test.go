package latest

import (
	"sync"
	"testing"
)

func TestBoxKeepsOnlyTheLatest(t *testing.T) {
	b := New[int]()
	for i := range 5 {
		b.Put(i)
	}
	if v := <-b.C(); v != 4 {
		t.Fatalf("took %d, want 4", v)
	}
	select {
	case v := <-b.C():
		t.Fatalf("a second value %d", v)
	default:
	}
	b.Put(7)
	if v := <-b.C(); v != 7 {
		t.Fatalf("took %d after emptying, want 7", v)
	}
}

// Puts never wait, however many race, and what is left is one of the last
// values each producer put.
func TestBoxConcurrentPutsNeverBlock(t *testing.T) {
	const producers, each = 4, 10_000
	b := New[int]()
	stop := make(chan struct{})
	taken := make(chan int, 1)
	go func() {
		last := -1
		for {
			select {
			case v := <-b.C():
				last = v
			case <-stop:
				select {
				case v := <-b.C():
					last = v
				default:
				}
				taken <- last
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				b.Put(p*each + i)
			}
		})
	}
	wg.Wait()
	close(stop)
	if v := <-taken; v%each != each-1 {
		t.Fatalf("last taken %d is no producer's last value", v)
	}
}
