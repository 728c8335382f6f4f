package server

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the server's counters and gauges, exposed at /metrics in the
// Prometheus text format.
type metrics struct {
	slots        int
	queueDepth   atomic.Int64
	slotsBusy    atomic.Int64
	promptTokens atomic.Int64 // prompt tokens of admitted jobs
	cachedTokens atomic.Int64 // of which reused from a slot's cache
	genTokens    atomic.Int64
	passes       atomic.Int64
	batchTokens  atomic.Int64 // tokens over all forward passes
	forwardNanos atomic.Int64

	mu       sync.Mutex
	requests map[[2]string]int64 // endpoint, status code
	finishes map[string]int64    // finish reason or "cancelled"/"error"

	// recent generation rate: generated tokens over the last window
	rateMu    sync.Mutex
	rateStart time.Time
	rateBase  int64
	lastRate  float64
}

func newMetrics(slots int) *metrics {
	return &metrics{slots: slots, requests: map[[2]string]int64{}, finishes: map[string]int64{}, rateStart: time.Now()}
}

func (m *metrics) request(endpoint string, status int) {
	m.mu.Lock()
	m.requests[[2]string{endpoint, fmt.Sprint(status)}]++
	m.mu.Unlock()
}

func (m *metrics) finished(reason string, err error) {
	switch {
	case err != nil && reason == "":
		reason = "error"
		if isCancel(err) {
			reason = "cancelled"
		}
	case reason == "":
		reason = "unknown"
	}
	m.mu.Lock()
	m.finishes[reason]++
	m.mu.Unlock()
}

func (m *metrics) forward(d time.Duration, tokens int) {
	m.passes.Add(1)
	m.batchTokens.Add(int64(tokens))
	m.forwardNanos.Add(int64(d))
}

// rate is the generated tokens per second since the previous scrape (at
// least one second apart; otherwise the previous figure).
func (m *metrics) rate() float64 {
	m.rateMu.Lock()
	defer m.rateMu.Unlock()
	now := time.Now()
	if d := now.Sub(m.rateStart); d >= time.Second {
		n := m.genTokens.Load()
		m.lastRate = float64(n-m.rateBase) / d.Seconds()
		m.rateStart, m.rateBase = now, n
	}
	return m.lastRate
}

func (m *metrics) write(w io.Writer) {
	metric := func(name, typ, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	metric("goformer_requests_total", "counter", "HTTP requests by endpoint and status code.")
	m.mu.Lock()
	keys := slices.SortedFunc(maps.Keys(m.requests), func(a, b [2]string) int {
		if a[0] != b[0] {
			return cmpString(a[0], b[0])
		}
		return cmpString(a[1], b[1])
	})
	for _, k := range keys {
		fmt.Fprintf(w, "goformer_requests_total{endpoint=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	metric("goformer_generations_total", "counter", "Finished generations by finish reason (stop, length, cancelled, error).")
	for _, r := range slices.Sorted(maps.Keys(m.finishes)) {
		fmt.Fprintf(w, "goformer_generations_total{reason=%q} %d\n", r, m.finishes[r])
	}
	m.mu.Unlock()
	metric("goformer_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.")
	fmt.Fprintf(w, "goformer_prompt_tokens_total %d\n", m.promptTokens.Load())
	metric("goformer_prompt_tokens_cached_total", "counter", "Prompt tokens reused from a slot's KV cache (prefix reuse).")
	fmt.Fprintf(w, "goformer_prompt_tokens_cached_total %d\n", m.cachedTokens.Load())
	metric("goformer_generated_tokens_total", "counter", "Generated tokens.")
	fmt.Fprintf(w, "goformer_generated_tokens_total %d\n", m.genTokens.Load())
	metric("goformer_generated_tokens_per_second", "gauge", "Generated tokens per second since the previous scrape.")
	fmt.Fprintf(w, "goformer_generated_tokens_per_second %g\n", m.rate())
	metric("goformer_forward_passes_total", "counter", "Batched forward passes.")
	fmt.Fprintf(w, "goformer_forward_passes_total %d\n", m.passes.Load())
	metric("goformer_forward_tokens_total", "counter", "Tokens evaluated over all forward passes.")
	fmt.Fprintf(w, "goformer_forward_tokens_total %d\n", m.batchTokens.Load())
	metric("goformer_forward_seconds_total", "counter", "Time spent in forward passes.")
	fmt.Fprintf(w, "goformer_forward_seconds_total %g\n", time.Duration(m.forwardNanos.Load()).Seconds())
	metric("goformer_queue_depth", "gauge", "Requests waiting for a slot.")
	fmt.Fprintf(w, "goformer_queue_depth %d\n", m.queueDepth.Load())
	metric("goformer_slots_busy", "gauge", "Slots running a generation.")
	fmt.Fprintf(w, "goformer_slots_busy %d\n", m.slotsBusy.Load())
	metric("goformer_slots", "gauge", "Parallel slots.")
	fmt.Fprintf(w, "goformer_slots %d\n", m.slots)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
