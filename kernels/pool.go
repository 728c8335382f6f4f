package kernels

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a fixed set of persistent worker goroutines that run the steps of
// a parallel loop. For splits [0,n) into one contiguous range per thread;
// each thread walks its own range upward a step at a time, and a thread that
// has finished its range takes steps from the back of the others' (a thread
// slowed by other load thus gets less of the work), so that each thread
// reads its part of the data as one ascending stream, the pattern that
// streams fastest from memory. No goroutine is started per call.
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
	yield   atomic.Bool // spinners yield the processor: more threads than GOMAXPROCS (see spinner)
	// alwaysYield sets yield whatever GOMAXPROCS is (for a benchmark).
	alwaysYield bool
	workers     []*poolWorker
	done        chan struct{} // wakes a parked For caller (capacity 1)
	job         poolJob       // the current For call's shared state (read at each step)
	_           [64]byte      // keep what For's caller writes off the line of job
	mu          sync.Mutex    // held by the For call that owns the workers
	closed      bool          // guarded by mu
	waiting     atomic.Bool   // the For caller parked on done
	exited      sync.WaitGroup
	_           [64]byte
	span        poolSpan // what is left of the caller's range
}

// spinWait is how long an idle worker (or a waiting caller) polls before
// parking on a channel: longer than the serial work between the parallel
// loops of decoding (norms, RoPE: microseconds) and than the usual imbalance
// at the end of one, short enough that on a machine with more runnable
// threads than cores little time is spun away. Parking is dear on a
// virtual machine: a parked thread's vCPU halts, and waking it costs far
// more than the futex call. On the project's 2-core VM, forcing parks (a
// 5 µs spin) cut llama3.2-1b BF16 decoding from 21 to 13 t/s, about 0.3 ms
// lost per park. Back-to-back decoding matrix products of the llama3.2-1b
// and qwen2.5-0.5b shapes (8 tokens each) parked 5-160 times with a 500 µs
// spin, 0-89 with 2 ms (the most in stretches where one vCPU ran far behind
// the other), at the same speed within the VM's noise.
const spinWait = 2 * time.Millisecond

// poolWorker is one worker's mailbox. The caller stores a job's loop (fn,
// step, parts) and the worker's range (span), then bumps seq, all on one
// cache line, so that a worker polling seq gets its whole job in one
// transfer between cores (about half a microsecond each on the project's
// VM). The worker parks (sleeping = true) once it has polled for spinWait;
// a dispatcher that clears sleeping owes the worker a wake-up. The worker
// sets finished to seq when it is done with that job. A nil fn (with seq
// bumped) tells it to exit.
type poolWorker struct {
	// The mailbox: the first 64 bytes (a cache line, poolWorker being
	// allocated in a 256-byte size class).
	seq      atomic.Uint64
	fn       func(lo, hi int) // written before seq is bumped
	step     int
	parts    int
	span     atomic.Uint64 // what is left of this worker's range (packSpan)
	sleeping atomic.Bool
	part     int           // the range of a job this worker owns (the caller owns 0)
	wake     chan struct{} // capacity 1
	// Written by the worker.
	finished atomic.Uint64
	_        [184]byte
}

// poolJob is the state of a For call shared by all its threads, besides
// their ranges: thread t (the caller 0, worker i i+1) owns a range of
// [0,n), t < parts; what is left of each range is kept in one word (the
// caller's in Pool.span, a worker's in its mailbox), so that its owner
// (from the front) and the others (from the back) take steps of it with a
// compare-and-swap.
type poolJob struct {
	stop     atomic.Bool // a step panicked: take no more
	panicked atomic.Pointer[any]
}

// poolSpan is one word on a cache line of its own.
type poolSpan struct {
	v atomic.Uint64
	_ [56]byte
}

// maxSpan is the longest range a span holds.
var maxSpan uint64 = math.MaxUint32

func packSpan(lo, hi int) uint64 { return uint64(lo)<<32 | uint64(hi) }

func unpackSpan(v uint64) (lo, hi int) { return int(v >> 32), int(uint32(v)) }

// spanOf returns the word that holds what is left of thread t's range.
func (p *Pool) spanOf(t int) *atomic.Uint64 {
	if t == 0 {
		return &p.span.v
	}
	return &p.workers[t-1].span
}

// run takes and runs steps of fn as thread t until none is left (or one
// panicked): first from the front of its own range, then from the back of
// whichever of the parts ranges has the most left; each step is half of
// what is left of the range, and at least step indices.
func (p *Pool) run(t int, fn func(lo, hi int), step, parts int) {
	j := &p.job
	defer func() {
		if r := recover(); r != nil {
			v := new(any) // allocated only when fn panicked
			*v = r
			j.panicked.CompareAndSwap(nil, v)
			j.stop.Store(true) // stop the others early
		}
	}()
	own := p.spanOf(t)
	for !j.stop.Load() {
		v := own.Load()
		lo, hi := unpackSpan(v)
		if lo >= hi {
			break
		}
		e := min(lo+max(step, (hi-lo+1)/2), hi)
		if own.CompareAndSwap(v, packSpan(e, hi)) {
			fn(lo, e)
		}
	}
	for !j.stop.Load() {
		var from *atomic.Uint64
		var fv uint64
		left := 0
		for i := range parts {
			s := p.spanOf(i)
			v := s.Load()
			if lo, hi := unpackSpan(v); hi-lo > left {
				from, fv, left = s, v, hi-lo
			}
		}
		if from == nil {
			return
		}
		lo, hi := unpackSpan(fv)
		b := max(lo, hi-max(step, (hi-lo+1)/2))
		if from.CompareAndSwap(fv, packSpan(lo, b)) {
			fn(b, hi)
		}
	}
}

// NewPool starts a pool of threads workers in all (the caller of For counts as
// one, so threads-1 goroutines are started). threads ≤ 0 means
// runtime.NumCPU().
func NewPool(threads int) *Pool { return newPool(threads, false) }

// newPool is NewPool; alwaysYield makes the spinners yield whatever
// GOMAXPROCS is (for BenchmarkPoolAfterPark).
func newPool(threads int, alwaysYield bool) *Pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &Pool{threads: threads, alwaysYield: alwaysYield, done: make(chan struct{}, 1)}
	p.setYield()
	p.workers = make([]*poolWorker, threads-1)
	p.exited.Add(threads - 1)
	for i := range p.workers {
		w := &poolWorker{part: i + 1, wake: make(chan struct{}, 1)}
		p.workers[i] = w
		go p.worker(w)
	}
	return p
}

// spinner polls a condition: spin reports whether to keep polling (false
// once spinWait has passed). With yield set it also yields the processor
// now and then (runtime.Gosched), which the pool asks for only when it has
// more threads than GOMAXPROCS, where a spinning goroutine could otherwise
// keep a thread of the pool from getting a P for long.
//
// Otherwise yielding is harmful. A yielded goroutine goes to the global run
// queue without waking an idle P, so after a worker has parked and been
// woken (readied onto the caller's P), the two spinners can end up taking
// turns on one P while the other P's thread sleeps: each loop's halves then
// run one after the other until something wakes a P again, which in a
// stretch of decoding may not happen for the rest of it. In
// BenchmarkPoolAfterPark (2-core VM), 9-15% of the stretches of 1000 small
// products that followed a park ran over 1.4 times (up to 2.5 times) slower
// than the median with yielding, 3-4% without (mean stretch 5.4-5.9 ms
// against 5.2-5.3); goformer bench repetitions that ran at about half speed
// (a 1B F32 one at 4.6 t/s against 12.6 for the others) look the same.
// The Go scheduler still preempts a goroutine that spins for long, and
// spinners park after spinWait.
type spinner struct {
	n     int
	yield bool
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
	if s.yield {
		runtime.Gosched()
	}
	return true
}

// setYield decides whether the pool's spinners yield (see spinner): when
// it has more threads than GOMAXPROCS, which can change while the pool
// lives, so it is checked again whenever a worker wakes from parking.
func (p *Pool) setYield() { p.yield.Store(p.alwaysYield || p.threads > runtime.GOMAXPROCS(0)) }

func (p *Pool) worker(w *poolWorker) {
	defer p.exited.Done()
	var seen uint64
	for {
		sp := spinner{yield: p.yield.Load()}
		for w.seq.Load() == seen {
			if sp.spin() {
				continue
			}
			w.sleeping.Store(true)
			if w.seq.Load() != seen && w.sleeping.CompareAndSwap(true, false) {
				break // a job came in before we slept
			}
			<-w.wake // the dispatcher cleared sleeping and sends once
			p.setYield()
		}
		seen++
		if w.fn == nil {
			return
		}
		p.run(w.part, w.fn, w.step, w.parts)
		w.finished.Store(seen)
		if p.waiting.Load() && p.waiting.CompareAndSwap(true, false) {
			p.done <- struct{}{}
		}
	}
}

// post hands worker w the loop fn (steps of at least step indices, parts
// ranges) and its range [lo, hi); a nil fn tells it to exit.
func (w *poolWorker) post(fn func(lo, hi int), step, parts, lo, hi int) {
	w.fn, w.step, w.parts = fn, step, parts
	w.span.Store(packSpan(lo, hi))
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
// finished: ForSteps with 2 steps per thread. n ≤ 0 calls nothing.
func (p *Pool) For(n int, fn func(lo, hi int)) { p.ForSteps(n, 2, fn) }

// ForSteps is For with finer steps at the end of each range. A thread
// takes half of what is left of a range at a time (its own range from the
// front, another's from the back once its own is done), but never less than
// 1/steps of a range (steps ≥ 1), so fn is called at most (steps+1)·Threads()
// times. The first steps are long, and the last ones short: a thread that
// finishes early waits for at most one short step of another. More steps
// balance the threads better at the cost of more calls: decoding's
// matrix-vector products, whose calls are cheap and whose rows stream from
// memory, use more than loops whose every call has a set-up cost. Each
// chunk holds at least one index. A panic in fn is re-raised on the calling
// goroutine once the running chunks are done (chunks not yet started are
// then skipped).
func (p *Pool) ForSteps(n, steps int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	for uint64(n) > maxSpan { // spans hold 32-bit bounds (64-bit ints only)
		m := int(maxSpan)
		p.ForSteps(m, steps, fn)
		n -= m
		next := fn
		fn = func(lo, hi int) { next(lo+m, hi+m) }
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
	j := &p.job
	parts := min(n, p.threads)
	pieces := parts * max(steps, 1) // step: 1/steps of a range, rounded up
	step := max(1, (n+pieces-1)/pieces)
	if j.stop.Load() { // written only after a panic: the workers keep the line cached
		j.stop.Store(false)
		j.panicked.Store(nil)
	}
	helpers := p.workers[:parts-1]
	p.span.v.Store(packSpan(0, n/parts))
	for i, w := range helpers {
		w.post(fn, step, parts, (i+1)*n/parts, (i+2)*n/parts)
	}
	p.run(0, fn, step, parts)
	p.wait(helpers)
	for _, w := range helpers {
		w.fn = nil // do not keep fn's memory alive
	}
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
	sp := spinner{yield: p.yield.Load()}
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
		w.post(nil, 0, 0, 0, 0)
	}
	p.exited.Wait()
}
