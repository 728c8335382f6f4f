package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/goformer/goformer/model"
	"github.com/goformer/goformer/tokenizer"
)

// genRequest is a validated generation: what a job computes.
type genRequest struct {
	prompt      []int
	sampler     model.SamplerOptions
	maxTokens   int // 0: until end of generation or a full context
	stops       []string
	logprobs    bool
	topLogprobs int
	echo        bool // first report the prompt tokens (scored with logprobs)
	ignoreEOS   bool
}

// event is what the scheduler reports to a job's handler: a token, or the
// end (done) with the finish reason or an error.
type event struct {
	id         int    // -1: text left over at the end, no token
	text       string // text to send (stop strings held back and cut)
	tokText    string // the token's own decoded text (for logprobs)
	prompt     bool   // an echoed prompt token
	hasLogprob bool
	logprob    float32
	top        []model.TokenLogprob

	done      bool
	finish    string // "stop" or "length"
	err       error
	promptN   int // usage, set on done
	cachedN   int
	generated int
}

// job is one generation, from submission to its done event. Events are
// appended by the scheduler and taken by the handler; the scheduler never
// waits for a slow or gone client.
type job struct {
	ctx context.Context
	req genRequest

	mu     sync.Mutex
	events []event
	notify chan struct{} // capacity 1: events are waiting

	// owned by the scheduler goroutine
	slot      int
	pending   []int // prompt tokens not yet evaluated
	next      int   // prompt index of pending[0]
	sampler   *model.Sampler
	dec       *tokenizer.StreamDecoder
	pdec      *tokenizer.StreamDecoder
	stop      *tokenizer.StopMatcher
	stopHit   bool // a stop string ended the generation
	last      int  // last sampled token, evaluated next step
	generated int
	cached    int
	lp        []float32
	stopAfter func() bool // stops the cancellation callback
}

func newJob(ctx context.Context, req genRequest) *job {
	return &job{ctx: ctx, req: req, notify: make(chan struct{}, 1), slot: -1}
}

func (j *job) emit(e event) {
	j.mu.Lock()
	j.events = append(j.events, e)
	j.mu.Unlock()
	select {
	case j.notify <- struct{}{}:
	default:
	}
}

// take returns the waiting events.
func (j *job) take(buf []event) []event {
	j.mu.Lock()
	buf = append(buf[:0], j.events...)
	clear(j.events)
	j.events = j.events[:0]
	j.mu.Unlock()
	return buf
}

// slot is one sequence of the batch cache.
type slot struct {
	tokens   []int // tokens whose keys and values are in the cache
	job      *job
	lastUsed time.Time
}

// engine is what the scheduler needs from a model (a *goformer.Model).
type engine interface {
	NewBatchCache(seqs int) (model.Cache, error)
	Forward(cache model.Cache, b *model.Batch, dst []float32) ([]float32, error)
}

// scheduler runs continuous batching: one goroutine owns the batch cache
// and, each step, gathers the next token of every generating slot and
// chunks of prompts being evaluated into one forward pass.
type scheduler struct {
	eng      engine
	tok      *tokenizer.Tokenizer
	cache    model.Cache
	context  int
	maxBatch int
	vocab    int
	metrics  *metrics

	mu       sync.Mutex
	queue    []*job
	busy     int // slots with a job
	queueMax int
	closed   bool

	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	slots  []slot
	batch  model.Batch
	logits []float32
	parts  []part
}

// part is one slot's share of a forward pass.
type part struct {
	j          *job
	start, n   int  // token range in the batch
	prefill    bool // prompt tokens (else one generated token)
	allOutputs bool // every row is an output (echo with logprobs)
	out        int  // index of the part's first output row
}

var errShutdown = errors.New("the server is shutting down")

func newScheduler(eng engine, tok *tokenizer.Tokenizer, slots, context, vocab, queueMax, maxBatch int, mt *metrics) (*scheduler, error) {
	c, err := eng.NewBatchCache(slots)
	if err != nil {
		return nil, err
	}
	s := &scheduler{
		eng: eng, tok: tok, cache: c, context: context, vocab: vocab, maxBatch: maxBatch, metrics: mt,
		queueMax: queueMax, slots: make([]slot, slots),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}
	go s.run()
	return s, nil
}

func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// submit queues j, or fails with errBusy when every slot is taken and the
// queue is full.
func (s *scheduler) submit(j *job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errDraining
	}
	if s.busy+len(s.queue) >= len(s.slots)+s.queueMax {
		return errBusy
	}
	s.queue = append(s.queue, j)
	s.metrics.queueDepth.Store(int64(len(s.queue)))
	j.stopAfter = context.AfterFunc(j.ctx, s.poke)
	s.poke()
	return nil
}

// load is the number of queued and running jobs.
func (s *scheduler) load() (queued, busy int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue), s.busy
}

// close stops the loop; jobs still queued or running end with errShutdown.
func (s *scheduler) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.quit)
	}
	s.mu.Unlock()
	<-s.done
}

func (s *scheduler) run() {
	defer close(s.done)
	for {
		select {
		case <-s.quit:
			s.failAll(errShutdown)
			return
		default:
		}
		s.reap()
		s.sweep()
		s.admit()
		if s.active() == 0 {
			select {
			case <-s.wake:
			case <-s.quit:
			}
			continue
		}
		s.step()
	}
}

func (s *scheduler) active() int {
	n := 0
	for i := range s.slots {
		if s.slots[i].job != nil {
			n++
		}
	}
	return n
}

// finish ends a slot's job with a done event and frees the slot at once.
func (s *scheduler) finish(j *job, reason string, err error) {
	if err == nil && !j.stopHit {
		rest, hit := j.stop.Push(j.dec.Flush())
		if hit {
			reason = "stop"
		} else {
			rest += j.stop.Flush()
		}
		if rest != "" {
			j.emit(event{id: -1, text: rest})
		}
	}
	if j.stopAfter != nil {
		j.stopAfter()
	}
	j.emit(event{done: true, finish: reason, err: err, promptN: len(j.req.prompt), cachedN: j.cached, generated: j.generated})
	if j.slot >= 0 {
		sl := &s.slots[j.slot]
		sl.job = nil
		sl.lastUsed = time.Now()
		s.mu.Lock()
		s.busy--
		s.metrics.slotsBusy.Store(int64(s.busy))
		s.mu.Unlock()
	}
	s.metrics.finished(reason, err)
}

// reap ends jobs whose client went away or whose deadline passed.
func (s *scheduler) reap() {
	for i := range s.slots {
		if j := s.slots[i].job; j != nil && j.ctx.Err() != nil {
			s.finish(j, "", context.Cause(j.ctx))
		}
	}
}

// sweep ends queued jobs whose client went away or whose deadline passed
// while they waited.
func (s *scheduler) sweep() {
	var gone []*job
	s.mu.Lock()
	q := s.queue[:0]
	for _, j := range s.queue {
		if j.ctx.Err() != nil {
			gone = append(gone, j)
		} else {
			q = append(q, j)
		}
	}
	clear(s.queue[len(q):])
	s.queue = q
	s.metrics.queueDepth.Store(int64(len(q)))
	s.mu.Unlock()
	for _, j := range gone {
		s.finish(j, "", context.Cause(j.ctx))
	}
}

func (s *scheduler) failAll(err error) {
	for i := range s.slots {
		if j := s.slots[i].job; j != nil {
			s.finish(j, "", err)
		}
	}
	s.mu.Lock()
	q := s.queue
	s.queue = nil
	s.metrics.queueDepth.Store(0)
	s.mu.Unlock()
	for _, j := range q {
		s.finish(j, "", err)
	}
}

// admit moves queued jobs into free slots, choosing for each the free slot
// whose cached tokens share the longest prefix with its prompt.
func (s *scheduler) admit() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.busy == len(s.slots) {
			s.mu.Unlock()
			return
		}
		j := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.metrics.queueDepth.Store(int64(len(s.queue)))
		if j.ctx.Err() == nil {
			s.busy++
			s.metrics.slotsBusy.Store(int64(s.busy))
		}
		s.mu.Unlock()
		if err := j.ctx.Err(); err != nil {
			s.finish(j, "", context.Cause(j.ctx))
			continue
		}
		s.start(j)
	}
}

func (s *scheduler) start(j *job) {
	best, bestN := -1, -1
	for i := range s.slots {
		sl := &s.slots[i]
		if sl.job != nil {
			continue
		}
		n := commonPrefix(sl.tokens, j.req.prompt)
		if n > bestN || (n == bestN && sl.lastUsed.Before(s.slots[best].lastUsed)) {
			best, bestN = i, n
		}
	}
	sl := &s.slots[best]
	sl.job = j
	j.slot = best
	keep := bestN
	if keep == len(j.req.prompt) {
		keep-- // the last prompt token is evaluated again for its logits
	}
	if j.req.echo && j.req.logprobs {
		keep = 0 // every prompt token's logits are needed
	}
	sl.tokens = sl.tokens[:keep]
	j.cached = keep
	j.pending = j.req.prompt[keep:]
	j.next = keep
	j.sampler = model.NewSampler(j.req.sampler)
	j.sampler.Accept(j.req.prompt...)
	j.dec = s.tok.NewStreamDecoder()
	j.stop = tokenizer.NewStopMatcher(j.req.stops)
	if j.req.echo {
		j.pdec = s.tok.NewStreamDecoder()
		if !j.req.logprobs {
			for _, id := range j.req.prompt {
				t := j.pdec.Add(id)
				j.emit(event{id: id, text: t, tokText: t, prompt: true})
			}
			s.flushPrompt(j)
		} else {
			id := j.req.prompt[0]
			t := j.pdec.Add(id)
			j.emit(event{id: id, text: t, tokText: t, prompt: true})
		}
	}
	s.metrics.promptTokens.Add(int64(len(j.req.prompt)))
	s.metrics.cachedTokens.Add(int64(keep))
}

// flushPrompt ends the echoed prompt's text (a character left incomplete
// at its end).
func (s *scheduler) flushPrompt(j *job) {
	if rest := j.pdec.Flush(); rest != "" {
		j.emit(event{id: -1, text: rest, prompt: true})
	}
}

// step runs one forward pass over every active slot: generating slots
// first (one token each), then prompt chunks in the remaining budget.
func (s *scheduler) step() {
	b := &s.batch
	b.Tokens, b.Positions, b.Seqs, b.Outputs = b.Tokens[:0], b.Positions[:0], b.Seqs[:0], b.Outputs[:0]
	s.parts = s.parts[:0]
	add := func(j *job, toks []int, prefill, all bool) {
		sl := &s.slots[j.slot]
		p := part{j: j, start: len(b.Tokens), n: len(toks), prefill: prefill, allOutputs: all, out: len(b.Outputs)}
		for i, t := range toks {
			b.Tokens = append(b.Tokens, t)
			b.Positions = append(b.Positions, len(sl.tokens)+i)
			b.Seqs = append(b.Seqs, j.slot)
			if all {
				b.Outputs = append(b.Outputs, p.start+i)
			}
		}
		if !all {
			b.Outputs = append(b.Outputs, p.start+p.n-1)
		}
		s.parts = append(s.parts, p)
	}
	for i := range s.slots {
		if j := s.slots[i].job; j != nil && len(j.pending) == 0 {
			add(j, []int{j.last}, false, false)
		}
	}
	budget := s.maxBatch - len(b.Tokens)
	for i := range s.slots {
		j := s.slots[i].job
		if j == nil || len(j.pending) == 0 || budget <= 0 {
			continue
		}
		n := min(len(j.pending), budget)
		budget -= n
		add(j, j.pending[:n], true, j.req.echo && j.req.logprobs)
	}
	t0 := time.Now()
	var err error
	s.logits, err = s.eng.Forward(s.cache, b, s.logits)
	s.metrics.forward(time.Since(t0), len(b.Tokens))
	if err != nil {
		for _, p := range s.parts {
			s.slots[p.j.slot].tokens = nil // the cache contents are unknown
			s.finish(p.j, "", fmt.Errorf("forward pass: %w", err))
		}
		return
	}
	for _, p := range s.parts {
		j := p.j
		sl := &s.slots[j.slot]
		sl.tokens = append(sl.tokens, b.Tokens[p.start:p.start+p.n]...)
		row := func(r int) []float32 { return s.logits[(p.out+r)*s.vocab : (p.out+r+1)*s.vocab] }
		if !p.prefill {
			s.sample(j, row(0))
			continue
		}
		if p.allOutputs {
			// row r predicts prompt token next+r+1
			for r := range p.n {
				k := j.next + r + 1
				if k >= len(j.req.prompt) {
					break
				}
				e := event{id: j.req.prompt[k], prompt: true}
				e.text = j.pdec.Add(e.id)
				e.tokText = e.text
				s.score(j, &e, row(r))
				j.emit(e)
			}
		}
		j.pending = j.pending[p.n:]
		j.next += p.n
		if len(j.pending) > 0 {
			continue
		}
		if p.allOutputs {
			s.flushPrompt(j)
			s.sample(j, row(p.n-1))
		} else {
			s.sample(j, row(0))
		}
	}
}

// score fills e's logprob fields from the logits that predicted e.id.
func (s *scheduler) score(j *job, e *event, logits []float32) {
	if !j.req.logprobs {
		return
	}
	if j.lp == nil {
		j.lp = make([]float32, len(logits))
	}
	model.LogSoftmax(j.lp, logits)
	e.hasLogprob, e.logprob = true, j.lp[e.id]
	if j.req.topLogprobs > 0 {
		e.top = model.TopLogprobs(j.lp, j.req.topLogprobs)
	}
}

// sample draws j's next token from logits (which it modifies) and reports it.
func (s *scheduler) sample(j *job, logits []float32) {
	if j.req.maxTokens == 0 { // echo only: score the prompt, generate nothing
		s.finish(j, "length", nil)
		return
	}
	if j.req.logprobs {
		if j.lp == nil {
			j.lp = make([]float32, len(logits))
		}
		model.LogSoftmax(j.lp, logits) // before sampling rescales the logits
	}
	id := j.sampler.Sample(logits)
	if !j.req.ignoreEOS && s.tok.IsEOG(id) {
		s.finish(j, "stop", nil)
		return
	}
	j.generated++
	s.metrics.genTokens.Add(1)
	text := j.dec.Add(id)
	out, hit := j.stop.Push(text)
	j.stopHit = hit
	e := event{id: id, text: out, tokText: text}
	if j.req.logprobs {
		e.hasLogprob, e.logprob = true, j.lp[id]
		if j.req.topLogprobs > 0 {
			e.top = model.TopLogprobs(j.lp, j.req.topLogprobs)
		}
	}
	j.emit(e)
	switch {
	case hit:
		s.finish(j, "stop", nil)
	case j.req.maxTokens > 0 && j.generated >= j.req.maxTokens:
		s.finish(j, "length", nil)
	case len(s.slots[j.slot].tokens) >= s.context:
		s.finish(j, "length", nil)
	default:
		j.sampler.Accept(id)
		j.last = id
	}
}

func commonPrefix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
