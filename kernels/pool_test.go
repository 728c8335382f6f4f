package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/goformer/goformer/weights"
)

// checkCover runs For and verifies every index is visited exactly once in
// contiguous non-empty chunks, at most 3·Threads() of them.
func checkCover(t *testing.T, p *Pool, n int) {
	t.Helper()
	checkCoverRun(t, fmt.Sprintf("For threads=%d n=%d", p.Threads(), n), n, 3*p.Threads(), func(fn func(lo, hi int)) { p.For(n, fn) })
}

// checkCoverRun calls run with a loop body over [0,n) and verifies that the
// body visited every index exactly once in contiguous non-empty chunks, in
// at most most calls (what names the run in messages).
func checkCoverRun(t *testing.T, what string, n, most int, run func(fn func(lo, hi int))) {
	t.Helper()
	hits := make([]int32, n)
	var calls atomic.Int32
	run(func(lo, hi int) {
		calls.Add(1)
		if lo >= hi || lo < 0 || hi > n {
			t.Errorf("%s: bad chunk [%d,%d)", what, lo, hi)
			return
		}
		for i := lo; i < hi; i++ {
			atomic.AddInt32(&hits[i], 1)
		}
	})
	for i, h := range hits {
		if h != 1 {
			t.Fatalf("%s: index %d visited %d times", what, i, h)
		}
	}
	if c := int(calls.Load()); c > most || (n > 0 && c == 0) {
		t.Fatalf("%s: %d chunks, want 1 to %d", what, c, most)
	}
}

func TestPoolFor(t *testing.T) {
	var nilPool *Pool
	if nilPool.Threads() != 1 {
		t.Fatal("nil pool must have 1 thread")
	}
	nilPool.Close()
	for _, threads := range []int{-1, 0, 1, 2, 3, 8} {
		var p *Pool
		if threads != -1 {
			p = NewPool(threads)
		}
		for _, n := range []int{0, 1, 2, 3, 5, 7, 8, 100, 1001} {
			checkCover(t, p, n)
		}
		p.Close()
		p.Close()
		checkCover(t, p, 17) // after Close: runs inline
	}
	if NewPool(0).Threads() < 1 {
		t.Fatal("NewPool(0) has no threads")
	}
}

// TestPoolForSteps checks ForSteps' cover and its bound on the number of
// calls, (steps+1)·Threads().
func TestPoolForSteps(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		for _, steps := range []int{0, 1, 2, 5, 64} {
			for _, n := range []int{1, 2, 7, 64, 1000, 100003} {
				what := fmt.Sprintf("ForSteps threads=%d steps=%d n=%d", threads, steps, n)
				checkCoverRun(t, what, n, (max(steps, 1)+1)*threads, func(fn func(lo, hi int)) { p.ForSteps(n, steps, fn) })
			}
		}
		for _, n := range []int{0, -1, -1 << 40} {
			p.ForSteps(n, 4, func(lo, hi int) { t.Errorf("ForSteps(%d) called fn(%d, %d)", n, lo, hi) })
			p.For(n, func(lo, hi int) { t.Errorf("For(%d) called fn(%d, %d)", n, lo, hi) })
		}
		p.Close()
	}
}

// TestPoolForStealsFromStalledThread stalls the call that holds the first
// index of the second thread's range until every other index is done: the
// other thread must take the rest of that range.
func TestPoolForStealsFromStalledThread(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	const n = 64
	var done atomic.Int32
	p.ForSteps(n, 8, func(lo, hi int) {
		if lo <= n/2 && n/2 < hi {
			deadline := time.Now().Add(10 * time.Second)
			for done.Load() != int32(n-(hi-lo)) {
				if time.Now().After(deadline) {
					t.Errorf("indices outside the stalled call [%d,%d) still not done after 10 s: %d of %d", lo, hi, done.Load(), n-(hi-lo))
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		done.Add(int32(hi - lo))
	})
}

func TestPoolConcurrentAndNested(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 200; it++ {
				n := 1 + (it*7+g)%50
				sum := make([]int64, n)
				p.For(n, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						// nested For must not deadlock
						p.For(3, func(a, b int) {
							for j := a; j < b; j++ {
								atomic.AddInt64(&sum[i], int64(j+1))
							}
						})
					}
				})
				for i, s := range sum {
					if s != 6 {
						t.Errorf("sum[%d] = %d", i, s)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestPoolPanic(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	for _, bad := range []int{0, 5, 9} {
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recovered %v, want boom", r)
				}
			}()
			p.For(10, func(lo, hi int) {
				if lo <= bad && bad < hi {
					panic("boom")
				}
			})
		}()
	}
	checkCover(t, p, 10) // still usable
}

func BenchmarkPoolFor(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	var x [64]int64
	for b.Loop() {
		p.For(64, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				x[i]++
			}
		})
	}
}

// BenchmarkPoolForGaps runs short parallel loops separated by serial work on
// the caller, as decoding does (matrix-vector products between norms and
// attention): the workers must be woken for each loop.
func BenchmarkPoolForGaps(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	x := make([]float32, 1<<14)
	for b.Loop() {
		p.For(len(x), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				x[i] = x[i]*0.5 + 1
			}
		})
		for i := range x { // serial work, ~10 µs
			x[i] += 1
		}
	}
}

func TestPoolForDoesNotAllocate(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	var x [64]int64
	fn := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x[i]++
		}
	}
	if a := testing.AllocsPerRun(100, func() { p.For(len(x), fn) }); a != 0 {
		t.Fatalf("For allocates %v times per call", a)
	}
}

// TestPoolWorkerLayout checks that a worker's mailbox fills the first cache
// line of its 256-byte allocation and finished starts the second.
func TestPoolWorkerLayout(t *testing.T) {
	var w poolWorker
	if s, o, f := unsafe.Sizeof(w), unsafe.Offsetof(w.wake)+unsafe.Sizeof(w.wake), unsafe.Offsetof(w.finished); s != 256 || o > 64 || f != 64 {
		t.Errorf("poolWorker: size %d (want 256), mailbox ends at %d (want ≤ 64), finished at %d (want 64)", s, o, f)
	}
}

// The spinners yield the processor only when the pool has more threads than
// GOMAXPROCS (see spinner), and a pool made so still covers its loops; the
// setting is taken again when a worker wakes from parking.
func TestPoolYield(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	p := NewPool(2)
	if p.yield.Load() {
		t.Error("a 2-thread pool yields with GOMAXPROCS 2")
	}
	runtime.GOMAXPROCS(1)
	q := NewPool(3)
	if !q.yield.Load() {
		t.Error("a 3-thread pool does not yield with GOMAXPROCS 1")
	}
	for _, n := range []int{1, 5, 100} {
		checkCover(t, q, n)
	}
	q.Close()
	runtime.GOMAXPROCS(2)
	for !p.workers[0].sleeping.Load() { // wait for the worker to park
		time.Sleep(spinWait)
	}
	runtime.GOMAXPROCS(1)
	checkCover(t, p, 10) // wakes the worker, which takes the setting again
	if !p.yield.Load() {
		t.Error("a woken worker did not take GOMAXPROCS 1 into account")
	}
	p.Close()
}

// BenchmarkPoolAfterPark runs stretches of 1000 Q8_0 matrix-vector
// products of 256×896 (a few µs each, as decoding's smaller products), each
// stretch after a pause long enough for the workers to park, as between
// generation runs: µs/product is the median stretch's time per product,
// slow-stretches the share of stretches more than 1.4 times slower than the
// median (the loops' halves running one after the other: see spinner);
// "yield" makes the spinners yield the processor as they did before.
func BenchmarkPoolAfterPark(b *testing.B) {
	for _, yield := range []bool{false, true} {
		b.Run(fmt.Sprintf("yield=%v", yield), func(b *testing.B) {
			p := newPool(0, yield)
			defer p.Close()
			w := benchMat(b, weights.Q8_0, 256, 896)
			x := randVec(rand.New(rand.NewPCG(1, 1)), w.Cols, 1)
			out := make([]float32, w.Rows)
			var stretches []float64
			for b.Loop() {
				b.StopTimer()
				time.Sleep(2 * spinWait)
				b.StartTimer()
				t0 := time.Now()
				for range 1000 {
					MatVec(p, out, w, x)
				}
				stretches = append(stretches, float64(time.Since(t0).Nanoseconds())/1e6)
			}
			s := slices.Sorted(slices.Values(stretches))
			med := s[len(s)/2]
			slow := 0
			for _, v := range s {
				if v > 1.4*med {
					slow++
				}
			}
			b.ReportMetric(med, "µs/product")
			b.ReportMetric(float64(slow)/float64(len(s)), "slow-stretches")
		})
	}
}
