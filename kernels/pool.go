package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a fixed set of persistent worker goroutines that run the chunks of
// a parallel loop. For splits [0,n) into contiguous chunks (up to two per
// thread) that the workers and the calling goroutine take in turn, so that a
// thread slowed by other load gets less of the work; no goroutine is started
// per call.
//
// Decoding a token runs a few hundred short parallel loops, so handing work
// over must be cheap: an idle worker spins for a short while (SpinWait)
// watching for the next loop before it parks, and the caller likewise spins
// briefly for the workers to finish before it parks. A parked worker is woken
// through a channel.
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
	job     poolJob    // the current For call's job (reused: For does not allocate)
	workers []*poolWorker
	waiting atomic.Bool   // the For caller parked on done
	done    chan struct{} // wakes a parked For caller (capacity 1)
	exited  sync.WaitGroup
}

// spinWait is how long an idle worker (or a waiting caller) polls before
// parking on a channel: longer than the serial work between the parallel
// loops of decoding (norms, RoPE: microseconds) and than the usual imbalance
// at the end of one, short enough that on a machine with more runnable
// threads than cores little time is spun away (the spinner also yields to
// other goroutines). Parking is dear on a virtual machine: a parked thread's
// vCPU halts, and waking it costs far more than the futex call. On the
// project's 2-core VM, forcing parks (a 5 µs spin) cut llama3.2-1b BF16
// decoding from 21 to 13 t/s, about 0.3 ms lost per park. Back-to-back
// decoding matrix products of the llama3.2-1b and qwen2.5-0.5b shapes
// (8 tokens each) parked 5-160 times with a 500 µs spin, 0-89 with 2 ms
// (the most in stretches where one vCPU ran far behind the other), at the
// same speed within the VM's noise.
const spinWait = 2 * time.Millisecond

// poolWorker is one worker's mailbox. The caller stores job, then bumps seq;
// the worker polls seq, and parks (sleeping = true) once it has polled for
// spinWait. A dispatcher that clears sleeping owes the worker a wake-up. The
// worker sets finished to seq when it is done with that job.
type poolWorker struct {
	seq      atomic.Uint64
	job      atomic.Pointer[poolJob] // nil job (with seq bumped): exit
	sleeping atomic.Bool
	wake     chan struct{} // capacity 1
	_        [64]byte      // keep the caller's and the worker's writes on separate cache lines
	finished atomic.Uint64
	_        [64]byte
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
			v := new(any) // allocated only when fn panicked
			*v = r
			j.panicked.CompareAndSwap(nil, v)
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
	p := &Pool{threads: threads, done: make(chan struct{}, 1)}
	p.workers = make([]*poolWorker, threads-1)
	p.exited.Add(threads - 1)
	for i := range p.workers {
		w := &poolWorker{wake: make(chan struct{}, 1)}
		p.workers[i] = w
		go p.worker(w)
	}
	return p
}

// spinner polls a condition: spin reports whether to keep polling (false
// once spinWait has passed), yielding the processor now and then.
type spinner struct {
	n     int
	start time.Time
}

func (s *spinner) spin() bool {
	s.n++
	if s.n&63 != 0 {
		return true
	}
	if s.n == 64 {
		s.start = time.Now()
	} else if time.Since(s.start) > spinWait {
		return false
	}
	runtime.Gosched()
	return true
}

func (p *Pool) worker(w *poolWorker) {
	defer p.exited.Done()
	var seen uint64
	for {
		var sp spinner
		for w.seq.Load() == seen {
			if sp.spin() {
				continue
			}
			w.sleeping.Store(true)
			if w.seq.Load() != seen && w.sleeping.CompareAndSwap(true, false) {
				break // a job came in before we slept
			}
			<-w.wake // the dispatcher cleared sleeping and sends once
		}
		seen++
		j := w.job.Load()
		if j == nil {
			return
		}
		j.run()
		w.finished.Store(seen)
		if p.waiting.CompareAndSwap(true, false) {
			p.done <- struct{}{}
		}
	}
}

// post hands j to worker w.
func (w *poolWorker) post(j *poolJob) {
	w.job.Store(j)
	w.seq.Add(1)
	if w.sleeping.CompareAndSwap(true, false) {
		w.wake <- struct{}{}
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
// 2·Threads() chunks (more, finer chunks made memory-bound decoding
// slower: each thread streams fewer, longer runs of weights); n ≤ 0 calls nothing. A panic in fn is re-raised on the
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
	chunks := min(n, 2*p.threads)
	j := &p.job
	j.fn, j.chunks, j.base, j.extra = fn, chunks, n/chunks, n%chunks
	j.next.Store(0)
	j.panicked.Store(nil)
	helpers := p.workers[:min(p.threads, chunks)-1]
	for _, w := range helpers {
		w.post(j)
	}
	j.run()
	p.wait(helpers)
	j.fn = nil
	if r := j.panicked.Load(); r != nil {
		panic(*r)
	}
}

// wait returns once every helper has finished the job it was last posted.
func (p *Pool) wait(helpers []*poolWorker) {
	finished := func() bool {
		for _, w := range helpers {
			if w.finished.Load() != w.seq.Load() {
				return false
			}
		}
		return true
	}
	var sp spinner
	for !finished() {
		if sp.spin() {
			continue
		}
		p.waiting.Store(true)
		if finished() {
			if !p.waiting.CompareAndSwap(true, false) {
				<-p.done // a helper cleared waiting and sent a wake-up
			}
			return
		}
		<-p.done // a helper finished; check them all again
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
	for _, w := range p.workers {
		w.post(nil)
	}
	p.exited.Wait()
}
