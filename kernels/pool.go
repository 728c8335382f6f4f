package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of persistent worker goroutines that run the chunks of
// a parallel loop. For splits [0,n) into contiguous chunks (up to four per
// thread) that the workers and the calling goroutine take in turn, so that a
// thread slowed by other load gets less of the work; no goroutine is started
// per call.
//
// A Pool is safe for concurrent use: one For call at a time owns the workers;
// a call that finds them busy (another caller, or a For nested inside a
// chunk) runs its whole range on its own goroutine instead of waiting, so
// concurrent callers always make progress and nesting cannot deadlock.
//
// A nil *Pool is valid and runs everything on the calling goroutine.
type Pool struct {
	threads int
	mu      sync.Mutex // held by the For call that owns the workers
	closed  bool       // guarded by mu
	work    []chan *poolJob
	done    chan struct{} // one value per worker that finished its part of a job
	exited  sync.WaitGroup
}

// poolJob is one For call: chunk i of `chunks` covers bounds(i).
type poolJob struct {
	fn          func(lo, hi int)
	chunks      int
	base, extra int          // n = chunks·base + extra; the first extra chunks are one longer
	next        atomic.Int64 // next chunk to take
	panicked    atomic.Pointer[any]
}

func (j *poolJob) bounds(i int) (lo, hi int) {
	lo = i*j.base + min(i, j.extra)
	hi = lo + j.base
	if i < j.extra {
		hi++
	}
	return lo, hi
}

// run takes and runs chunks until none is left (or one panicked).
func (j *poolJob) run() {
	defer func() {
		if r := recover(); r != nil {
			j.panicked.CompareAndSwap(nil, &r)
			j.next.Store(int64(j.chunks)) // stop the others early
		}
	}()
	for {
		i := int(j.next.Add(1) - 1)
		if i >= j.chunks {
			return
		}
		j.fn(j.bounds(i))
	}
}

// NewPool starts a pool of threads workers in all (the caller of For counts as
// one, so threads-1 goroutines are started). threads ≤ 0 means
// runtime.NumCPU().
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &Pool{threads: threads, done: make(chan struct{}, threads)}
	p.work = make([]chan *poolJob, threads-1)
	p.exited.Add(threads - 1)
	for i := range p.work {
		ch := make(chan *poolJob, 1)
		p.work[i] = ch
		go p.worker(ch)
	}
	return p
}

func (p *Pool) worker(ch chan *poolJob) {
	defer p.exited.Done()
	for j := range ch {
		j.run()
		p.done <- struct{}{}
	}
}

// Threads reports the number of threads For uses (1 for a nil Pool).
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// For calls fn on contiguous chunks [lo,hi) that together cover [0,n) exactly
// once, in parallel on up to Threads() goroutines, and returns when all have
// finished. Each chunk holds at least one index; there are at most
// 4·Threads() chunks; n ≤ 0 calls nothing. A panic in fn is re-raised on the
// calling goroutine once the running chunks are done (chunks not yet started
// are then skipped).
func (p *Pool) For(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if p == nil || p.threads == 1 || n == 1 {
		fn(0, n)
		return
	}
	if !p.mu.TryLock() {
		// Workers busy (concurrent or nested call): do it all here.
		fn(0, n)
		return
	}
	defer p.mu.Unlock()
	if p.closed {
		fn(0, n)
		return
	}
	chunks := min(n, 4*p.threads)
	j := &poolJob{fn: fn, chunks: chunks, base: n / chunks, extra: n % chunks}
	helpers := min(p.threads, chunks) - 1
	for i := range helpers {
		p.work[i] <- j
	}
	j.run()
	for range helpers {
		<-p.done
	}
	if r := j.panicked.Load(); r != nil {
		panic(*r)
	}
}

// Close stops the workers and waits for them to exit. Later For calls run on
// the caller's goroutine. Close is idempotent; a nil Pool's Close does
// nothing.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, ch := range p.work {
		close(ch)
	}
	p.exited.Wait()
}
