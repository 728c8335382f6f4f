package kernels

import (
	"runtime"
	"sync"
)

// Pool is a fixed set of persistent worker goroutines that run the chunks of
// a parallel loop. For splits [0,n) into contiguous chunks, hands one chunk to
// each worker and runs the first chunk on the calling goroutine, so no
// goroutine is started per call.
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
	work    []chan poolTask
	done    chan any // one value per finished chunk: nil, or a recovered panic
	exited  sync.WaitGroup
}

type poolTask struct {
	fn     func(lo, hi int)
	lo, hi int
}

// NewPool starts a pool of threads workers in all (the caller of For counts as
// one, so threads-1 goroutines are started). threads ≤ 0 means
// runtime.NumCPU().
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &Pool{threads: threads, done: make(chan any, threads)}
	p.work = make([]chan poolTask, threads-1)
	p.exited.Add(threads - 1)
	for i := range p.work {
		ch := make(chan poolTask, 1)
		p.work[i] = ch
		go p.worker(ch)
	}
	return p
}

func (p *Pool) worker(ch chan poolTask) {
	defer p.exited.Done()
	for t := range ch {
		p.done <- runChunk(t)
	}
}

// runChunk runs one chunk and returns the value of a panic in it, if any.
func runChunk(t poolTask) (perr any) {
	defer func() {
		if r := recover(); r != nil {
			perr = r
		}
	}()
	t.fn(t.lo, t.hi)
	return nil
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
// finished. Each chunk holds at least one index; n ≤ 0 calls nothing. A panic
// in fn is re-raised on the calling goroutine after all chunks are done.
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
	chunks := min(p.threads, n)
	// Chunks 1..chunks-1 go to workers, chunk 0 stays here. Sizes differ by
	// at most one.
	base, extra := n/chunks, n%chunks
	bounds := func(i int) (int, int) {
		lo := i*base + min(i, extra)
		hi := lo + base
		if i < extra {
			hi++
		}
		return lo, hi
	}
	for i := 1; i < chunks; i++ {
		lo, hi := bounds(i)
		p.work[i-1] <- poolTask{fn, lo, hi}
	}
	lo, hi := bounds(0)
	first := runChunk(poolTask{fn, lo, hi})
	var perr any
	for i := 1; i < chunks; i++ {
		if r := <-p.done; r != nil && perr == nil {
			perr = r
		}
	}
	if first != nil {
		panic(first)
	}
	if perr != nil {
		panic(perr)
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
