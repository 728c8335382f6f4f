package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goformer/goformer"
	"github.com/goformer/goformer/model"
)

// options turns the shared sampling fields into a genRequest (without the
// prompt). maxTokens is the request's max_tokens (or max_completion_tokens).
func (s *Server) options(p *sampling, maxTokens *int, allowZero bool) (genRequest, error) {
	var g genRequest
	if err := s.checkModel(p.Model); err != nil {
		return g, err
	}
	if p.N != nil && *p.N != 1 {
		return g, badRequest("n", "n must be 1: this server generates one choice per request, got %d", *p.N)
	}
	limit := s.context
	if s.cfg.MaxTokens > 0 {
		limit = min(limit, s.cfg.MaxTokens)
	}
	g.maxTokens = limit
	if maxTokens != nil {
		n := *maxTokens
		switch {
		case n < 0 || (n == 0 && !allowZero):
			return g, badRequest("max_tokens", "max_tokens must be at least 1, got %d", n)
		case n > limit:
			return g, withCode(badRequest("max_tokens", "max_tokens %d is over this server's limit of %d", n, limit), "max_tokens_too_large")
		}
		g.maxTokens = n
	}
	for _, c := range []struct {
		name   string
		v      *float64
		lo, hi float64
	}{
		{"temperature", p.Temperature, 0, 2},
		{"top_p", p.TopP, 0, 1},
		{"min_p", p.MinP, 0, 1},
		{"frequency_penalty", p.FrequencyPenalty, -2, 2},
		{"presence_penalty", p.PresencePenalty, -2, 2},
		{"repeat_penalty", p.RepeatPenalty, 0, 10},
	} {
		if err := numberIn(c.name, c.v, c.lo, c.hi); err != nil {
			return g, err
		}
	}
	o := &g.sampler
	o.Temperature = 1 // OpenAI's default
	if p.Temperature != nil {
		o.Temperature = float32(*p.Temperature)
	}
	if p.TopP != nil {
		if *p.TopP == 0 {
			o.Temperature = 0 // the nucleus of p → 0 is the most likely token
		}
		o.TopP = float32(*p.TopP)
	}
	if p.TopK != nil {
		if *p.TopK < 0 {
			return g, badRequest("top_k", "top_k must be ≥ 0, got %d", *p.TopK)
		}
		o.TopK = *p.TopK
	}
	if p.MinP != nil {
		o.MinP = float32(*p.MinP)
	}
	if p.FrequencyPenalty != nil {
		o.FrequencyPenalty = float32(*p.FrequencyPenalty)
	}
	if p.PresencePenalty != nil {
		o.PresencePenalty = float32(*p.PresencePenalty)
	}
	if p.RepeatPenalty != nil {
		o.RepeatPenalty = float32(*p.RepeatPenalty)
	}
	if p.Seed != nil {
		o.Seed = uint64(*p.Seed)
	} else {
		o.Seed = rand.Uint64()
	}
	var err error
	if o.LogitBias, err = logitBias(p.LogitBias, s.vocab); err != nil {
		return g, err
	}
	if g.stops, err = parseStop(p.Stop); err != nil {
		return g, err
	}
	g.ignoreEOS = p.IgnoreEOS
	return g, nil
}

// checkPrompt rejects empty prompts and prompts over the context.
func (s *Server) checkPrompt(param string, ids []int) error {
	if len(ids) == 0 {
		return badRequest(param, "the prompt has no tokens")
	}
	if len(ids) > s.context {
		return withCode(badRequest(param, "this model's maximum context length is %d tokens, but the prompt has %d tokens", s.context, len(ids)), "context_length_exceeded")
	}
	return nil
}

// parsed is a decoded and validated generation request.
type parsed struct {
	gen    genRequest
	stream bool
	so     *streamOptions
	echo   string // completions with echo: the prompt's text
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request, l *reqLog) error {
	p, err := s.parseChat(r.Body)
	if err != nil {
		return err
	}
	return s.serveGeneration(w, r, l, p.gen, p.stream, p.so, chatFormat{}, "")
}

// parseChat decodes and validates a chat completion request.
func (s *Server) parseChat(body io.Reader) (parsed, error) {
	var req chatRequest
	if err := decodeJSON(body, &req); err != nil {
		return parsed{}, err
	}
	max := req.MaxTokens
	if req.MaxCompletionTokens != nil {
		max = req.MaxCompletionTokens
	}
	g, err := s.options(&req.sampling, max, false)
	if err != nil {
		return parsed{}, err
	}
	if req.Logprobs != nil && *req.Logprobs {
		g.logprobs = true
	}
	if req.TopLogprobs != nil {
		switch {
		case *req.TopLogprobs < 0 || *req.TopLogprobs > 20:
			return parsed{}, badRequest("top_logprobs", "top_logprobs must be between 0 and 20, got %d", *req.TopLogprobs)
		case *req.TopLogprobs > 0 && !g.logprobs:
			return parsed{}, badRequest("top_logprobs", "top_logprobs needs logprobs: true")
		}
		g.topLogprobs = *req.TopLogprobs
	}
	if err := checkResponseFormat(req.ResponseFormat); err != nil {
		return parsed{}, err
	}
	if t := strings.TrimSpace(string(req.Tools)); t != "" && t != "null" && t != "[]" {
		return parsed{}, badRequest("tools", "tools (function calling) are not supported by this server")
	}
	if len(req.Messages) == 0 {
		return parsed{}, badRequest("messages", "messages must hold at least one message")
	}
	msgs := make([]goformer.Message, len(req.Messages))
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "developer", "user", "assistant", "tool":
		default:
			return parsed{}, badRequest(fmt.Sprintf("messages[%d].role", i), "messages[%d].role %q is not one of system, developer, user, assistant, tool", i, m.Role)
		}
		text, err := messageText(i, m.Content)
		if err != nil {
			return parsed{}, err
		}
		role := m.Role
		if role == "developer" {
			role = "system"
		}
		msgs[i] = goformer.Message{Role: role, Content: text}
	}
	g.prompt, err = s.m.ChatPrompt(msgs, nil)
	if err != nil {
		return parsed{}, badRequest("messages", "cannot render the messages with the model's chat template: %v", err)
	}
	if err := s.checkPrompt("messages", g.prompt); err != nil {
		return parsed{}, err
	}
	return parsed{gen: g, stream: req.Stream, so: req.StreamOptions}, nil
}

func checkResponseFormat(f *responseFormat) error {
	if f == nil {
		return nil
	}
	switch f.Type {
	case "text":
		return nil
	case "json_object":
	case "json_schema":
		var js struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		}
		if isNull(f.JSONSchema) || json.Unmarshal(f.JSONSchema, &js) != nil {
			return badRequest("response_format.json_schema", "response_format json_schema needs a json_schema object")
		}
		if js.Name == "" {
			return badRequest("response_format.json_schema.name", "response_format json_schema needs a name")
		}
		var obj map[string]any
		if !isNull(js.Schema) && json.Unmarshal(js.Schema, &obj) != nil {
			return badRequest("response_format.json_schema.schema", "response_format json_schema.schema must be a JSON object")
		}
	case "":
		return badRequest("response_format.type", "response_format needs a type")
	default:
		return badRequest("response_format.type", "response_format type %q is not one of text, json_object, json_schema", f.Type)
	}
	return badRequest("response_format.type", "response_format %q is not supported: this server has no constrained (grammar) decoding; use \"text\"", f.Type)
}

func (s *Server) handleCompletion(w http.ResponseWriter, r *http.Request, l *reqLog) error {
	p, err := s.parseCompletion(r.Body)
	if err != nil {
		return err
	}
	return s.serveGeneration(w, r, l, p.gen, p.stream, p.so, completionFormat{}, p.echo)
}

// parseCompletion decodes and validates a text completion request.
func (s *Server) parseCompletion(body io.Reader) (parsed, error) {
	var req completionRequest
	if err := decodeJSON(body, &req); err != nil {
		return parsed{}, err
	}
	g, err := s.options(&req.sampling, req.MaxTokens, req.Echo)
	if err != nil {
		return parsed{}, err
	}
	if req.Suffix != nil && *req.Suffix != "" {
		return parsed{}, badRequest("suffix", "suffix (insertion) is not supported by this server")
	}
	if req.BestOf != nil && *req.BestOf != 1 {
		return parsed{}, badRequest("best_of", "best_of must be 1, got %d", *req.BestOf)
	}
	if req.Logprobs != nil {
		if *req.Logprobs < 0 || *req.Logprobs > 20 {
			return parsed{}, badRequest("logprobs", "logprobs must be between 0 and 20, got %d", *req.Logprobs)
		}
		g.logprobs, g.topLogprobs = true, *req.Logprobs
	}
	g.echo = req.Echo
	in, err := parsePrompt(req.Prompt)
	if err != nil {
		return parsed{}, err
	}
	tok := s.m.Tokenizer()
	if in.isID {
		for i, id := range in.ids {
			if id < 0 || id >= s.vocab {
				return parsed{}, badRequest("prompt", "prompt[%d]: token id %d outside the vocabulary of %d", i, id, s.vocab)
			}
		}
		g.prompt = in.ids
	} else {
		g.prompt = tok.Encode(in.text, true)
	}
	if err := s.checkPrompt("prompt", g.prompt); err != nil {
		return parsed{}, err
	}
	echo := in.text
	if in.isID {
		echo = tok.Decode(in.ids)
	}
	return parsed{gen: g, stream: req.Stream, so: req.StreamOptions, echo: echo}, nil
}

// format renders a generation as chat or text completion objects.
type format interface {
	object(stream bool) string
	idPrefix() string
	// chunk is a streamed object for token events (nil: nothing to send).
	chunk(h *header, evs []event, finish *string) any
	// full is the whole response.
	full(h *header, evs []event, finish string, u *usage) any
	usageChunk(h *header, u *usage) any
}

// header is what every object of one response repeats.
type header struct {
	id, object, model string
	created           int64
	first             bool // the first chunk has not been sent
	piece             func(id int) string
	logprobs          bool   // the request asked for logprobs
	echo              string // the prompt text to echo before the first generated text
	offset            int    // text_offset of the next token
}

// serveGeneration submits g and writes the response: one JSON object, or
// server-sent events ending with data: [DONE].
func (s *Server) serveGeneration(w http.ResponseWriter, r *http.Request, l *reqLog, g genRequest, stream bool, so *streamOptions, f format, echo string) error {
	if s.draining.Load() {
		return errDraining
	}
	s.inflight.Add(1)
	defer s.inflight.Done()
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	stopShutdown := context.AfterFunc(s.base, func() { cancel(context.Cause(s.base)) })
	defer stopShutdown()
	if s.cfg.RequestTimeout > 0 {
		var c context.CancelFunc
		ctx, c = context.WithTimeoutCause(ctx, s.cfg.RequestTimeout, fmt.Errorf("%w after %v", errTimeout, s.cfg.RequestTimeout))
		defer c()
	}
	j := newJob(ctx, g)
	if err := s.sched.submit(j); err != nil {
		return err
	}
	l.stream = stream
	l.prompt = len(g.prompt)
	h := &header{id: f.idPrefix() + l.id, object: f.object(stream), model: s.cfg.ModelName, created: time.Now().Unix(), first: true, piece: s.pieceText, logprobs: g.logprobs}
	if _, ok := f.(completionFormat); ok {
		if g.echo {
			h.echo = echo
		} else {
			h.offset = len(echo)
		}
	}
	var evs []event
	var all []event
	var end event
	rc := http.NewResponseController(w)
	started := false
	for !end.done {
		<-j.notify
		evs = j.take(evs)
		toks := evs
		if n := len(evs); n > 0 && evs[n-1].done {
			end = evs[n-1]
			toks = evs[:n-1]
		}
		if !stream {
			all = append(all, toks...)
			continue
		}
		if !started {
			if end.done && end.err != nil {
				break // nothing sent yet: a plain error response
			}
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		// one chunk per token with text (a token that is part of a
		// character goes with the one that completes it)
		for len(toks) > 0 {
			n := 1
			for n < len(toks) && toks[n-1].text == "" {
				n++
			}
			if c := f.chunk(h, toks[:n], nil); c != nil {
				writeEvent(w, c)
			}
			toks = toks[n:]
		}
		if end.done && end.err == nil {
			reason := end.finish
			writeEvent(w, f.chunk(h, nil, &reason))
		}
		rc.Flush()
	}
	l.cached, l.gen, l.finish = end.cachedN, end.generated, end.finish
	if end.err != nil {
		l.finish = "error"
		if isCancel(end.err) && r.Context().Err() != nil {
			l.finish = "cancelled"
			l.status = 499 // client closed the request (nginx's code), for logs and metrics
			return nil
		}
		if !started {
			return end.err
		}
		b, _ := json.Marshal(errorBody{toAPIError(end.err)})
		fmt.Fprintf(w, "data: %s\n\n", b)
		rc.Flush()
		return end.err
	}
	u := &usage{PromptTokens: end.promptN, CompletionTokens: end.generated, TotalTokens: end.promptN + end.generated,
		PromptTokensDetails: &promptTokensDetails{CachedTokens: end.cachedN}}
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(f.full(h, all, end.finish, u))
	}
	if so != nil && so.IncludeUsage {
		writeEvent(w, f.usageChunk(h, u))
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	rc.Flush()
	return nil
}

// pieceText is token id's text on its own, in the middle of a text.
func (s *Server) pieceText(id int) string {
	d := s.m.Tokenizer().NewStreamDecoder()
	return d.Add(id) + d.Flush()
}

func writeEvent(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(errorBody{toAPIError(err)})
	}
	fmt.Fprintf(w, "data: %s\n\n", b)
}

// Chat completion objects.

type chatFormat struct{}

func (chatFormat) object(stream bool) string {
	if stream {
		return "chat.completion.chunk"
	}
	return "chat.completion"
}

func (chatFormat) idPrefix() string { return "chatcmpl-" }

const fingerprint = "goformer"

func chatLogprobsOf(h *header, evs []event) *chatLogprobs {
	var lp *chatLogprobs
	for _, e := range evs {
		if !e.hasLogprob || e.id < 0 {
			continue
		}
		if lp == nil {
			lp = &chatLogprobs{Content: []tokenLogprob{}}
		}
		t := tokenLogprob{topLogprob: topLogprob{Token: e.tokText, Logprob: e.logprob, Bytes: bytesOf(e.tokText)}, TopLogprobs: []topLogprob{}}
		for _, x := range e.top {
			t.TopLogprobs = append(t.TopLogprobs, topLogprob{Token: h.piece(x.ID), Logprob: x.Logprob, Bytes: bytesOf(h.piece(x.ID))})
		}
		lp.Content = append(lp.Content, t)
	}
	return lp
}

func bytesOf(s string) []int {
	b := make([]int, len(s))
	for i := range len(s) {
		b[i] = int(s[i])
	}
	return b
}

// textOf joins the generated text of evs (echoed prompt tokens are sent as
// the prompt's text, header.echo).
func textOf(evs []event) string {
	var b strings.Builder
	for _, e := range evs {
		if !e.prompt {
			b.WriteString(e.text)
		}
	}
	return b.String()
}

func (f chatFormat) chunk(h *header, evs []event, finish *string) any {
	text := textOf(evs)
	lp := chatLogprobsOf(h, evs)
	if !h.first && text == "" && lp == nil && finish == nil {
		return nil
	}
	d := &chatMessageOut{Content: &text}
	if h.first {
		d.Role = "assistant"
		h.first = false
	}
	if finish != nil {
		d = &chatMessageOut{}
	}
	return chatResponse{ID: h.id, Object: h.object, Created: h.created, Model: h.model, SystemFingerprint: fingerprint,
		Choices: []chatChoice{{Delta: d, Logprobs: lp, FinishReason: finish}}}
}

func (chatFormat) full(h *header, evs []event, finish string, u *usage) any {
	text := textOf(evs)
	return chatResponse{ID: h.id, Object: h.object, Created: h.created, Model: h.model, SystemFingerprint: fingerprint,
		Choices: []chatChoice{{Message: &chatMessageOut{Role: "assistant", Content: &text}, Logprobs: chatLogprobsOf(h, evs), FinishReason: &finish}},
		Usage:   u}
}

func (chatFormat) usageChunk(h *header, u *usage) any {
	return chatResponse{ID: h.id, Object: h.object, Created: h.created, Model: h.model, SystemFingerprint: fingerprint, Choices: []chatChoice{}, Usage: u}
}

// Text completion objects.

type completionFormat struct{}

func (completionFormat) object(bool) string { return "text_completion" }
func (completionFormat) idPrefix() string   { return "cmpl-" }

func completionLogprobsOf(h *header, evs []event) *completionLogprobs {
	var lp *completionLogprobs
	for _, e := range evs {
		if e.id < 0 || (!e.hasLogprob && !e.prompt) {
			continue
		}
		if lp == nil {
			lp = &completionLogprobs{Tokens: []string{}, TokenLogprobs: []*float32{}, TopLogprobs: []map[string]float32{}, TextOffset: []int{}}
		}
		lp.Tokens = append(lp.Tokens, e.tokText)
		lp.TextOffset = append(lp.TextOffset, h.offset)
		h.offset += len(e.tokText)
		if !e.hasLogprob {
			lp.TokenLogprobs = append(lp.TokenLogprobs, nil)
			lp.TopLogprobs = append(lp.TopLogprobs, map[string]float32{}) // {} rather than null: clients decode it as a map
			continue
		}
		v := e.logprob
		lp.TokenLogprobs = append(lp.TokenLogprobs, &v)
		top := map[string]float32{}
		for _, x := range e.top {
			top[h.piece(x.ID)] = x.Logprob
		}
		lp.TopLogprobs = append(lp.TopLogprobs, top)
	}
	return lp
}

func (completionFormat) chunk(h *header, evs []event, finish *string) any {
	text := textOf(evs)
	if h.echo != "" {
		text, h.echo = h.echo+text, ""
	}
	var lp *completionLogprobs
	if h.logprobs {
		lp = completionLogprobsOf(h, evs)
	}
	if text == "" && lp == nil && finish == nil {
		return nil
	}
	return completionResponse{ID: h.id, Object: h.object, Created: h.created, Model: h.model, SystemFingerprint: fingerprint,
		Choices: []completionChoice{{Text: text, Logprobs: lp, FinishReason: finish}}}
}

func (completionFormat) full(h *header, evs []event, finish string, u *usage) any {
	var lp *completionLogprobs
	if h.logprobs {
		lp = completionLogprobsOf(h, evs)
		if lp == nil {
			lp = &completionLogprobs{Tokens: []string{}, TokenLogprobs: []*float32{}, TopLogprobs: []map[string]float32{}, TextOffset: []int{}}
		}
	}
	return completionResponse{ID: h.id, Object: h.object, Created: h.created, Model: h.model, SystemFingerprint: fingerprint,
		Choices: []completionChoice{{Text: h.echo + textOf(evs), Logprobs: lp, FinishReason: &finish}}, Usage: u}
}

func (completionFormat) usageChunk(h *header, u *usage) any {
	return completionResponse{ID: h.id, Object: h.object, Created: h.created, Model: h.model, SystemFingerprint: fingerprint, Choices: []completionChoice{}, Usage: u}
}

// Other endpoints.

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request, l *reqLog) error {
	var req embeddingRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		return err
	}
	if err := s.checkModel(req.Model); err != nil {
		return err
	}
	if s.cfg.Embed == nil {
		return withCode(badRequest("model", "model %q does not support embeddings: it is a decoder-only (generative) model", s.cfg.ModelName), "embeddings_not_supported")
	}
	var inputs []string
	var one string
	switch {
	case isNull(req.Input):
		return badRequest("input", "input is required")
	case json.Unmarshal(req.Input, &one) == nil:
		inputs = []string{one}
	case json.Unmarshal(req.Input, &inputs) == nil:
	default:
		return badRequest("input", "input must be a string or an array of strings")
	}
	if len(inputs) == 0 {
		return badRequest("input", "input is an empty array")
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" {
		return badRequest("encoding_format", "encoding_format %q is not supported (only \"float\")", req.EncodingFormat)
	}
	vecs, n, err := s.cfg.Embed(r.Context(), inputs)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) || errors.Is(err, model.ErrContextFull) {
			return badRequest("input", "%v", err)
		}
		return err
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}{Object: "list", Model: s.cfg.ModelName}
	for i, v := range vecs {
		if req.Dimensions != nil && *req.Dimensions > 0 && *req.Dimensions < len(v) {
			v = v[:*req.Dimensions]
		}
		out.Data = append(out.Data, item{Object: "embedding", Index: i, Embedding: v})
	}
	out.Usage.PromptTokens, out.Usage.TotalTokens = n, n
	return writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

func (s *Server) modelObject() modelObject {
	return modelObject{ID: s.cfg.ModelName, Object: "model", Created: s.created, OwnedBy: "goformer"}
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request, l *reqLog) error {
	return writeJSON(w, modelList{Object: "list", Data: []modelObject{s.modelObject()}})
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request, l *reqLog) error {
	if err := s.checkModel(r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, s.modelObject())
}

func (s *Server) handleTokenize(w http.ResponseWriter, r *http.Request, l *reqLog) error {
	var req tokenizeRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		return err
	}
	tok := s.m.Tokenizer()
	ids := tok.Encode(req.Content, req.AddSpecial != nil && *req.AddSpecial)
	if !req.WithPieces {
		if ids == nil {
			ids = []int{}
		}
		return writeJSON(w, map[string]any{"tokens": ids})
	}
	type piece struct {
		ID    int `json:"id"`
		Piece any `json:"piece"`
	}
	out := make([]piece, len(ids))
	for i, id := range ids {
		p := tok.Piece(id)
		out[i] = piece{ID: id, Piece: p}
		if !utf8.ValidString(p) {
			out[i].Piece = bytesOf(p)
		}
	}
	return writeJSON(w, map[string]any{"tokens": out})
}

func (s *Server) handleDetokenize(w http.ResponseWriter, r *http.Request, l *reqLog) error {
	var req detokenizeRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		return err
	}
	for i, id := range req.Tokens {
		if id < 0 || id >= s.vocab {
			return badRequest("tokens", "tokens[%d]: id %d outside the vocabulary of %d", i, id, s.vocab)
		}
	}
	return writeJSON(w, map[string]any{"content": s.m.Tokenizer().Decode(req.Tokens)})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, l *reqLog) error {
	if s.draining.Load() {
		return errDraining
	}
	q, busy := s.sched.load()
	return writeJSON(w, map[string]any{"status": "ok", "slots_idle": s.cfg.Slots - busy, "slots_processing": busy, "queue": q})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, l *reqLog) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w)
	return nil
}
