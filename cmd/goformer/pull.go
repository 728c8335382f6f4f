package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/goformer/goformer/hub"
)

// hubEnv reads HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE.
func hubEnv() hub.Env { return hub.EnvFrom(os.Getenv) }

// resolveModel turns a -m value into a local path without touching the
// network: a path stays as it is; "org/name[:rev]" becomes its snapshot in
// the Hugging Face cache (or the GGUF file in it); "org/name/file.gguf"
// that file. "" (the embedded model) stays "".
func resolveModel(spec string) (string, error) {
	return hub.Resolve(hubEnv().CacheDir, spec)
}

// ensureModel is resolveModel that, when pull is set and the model is not
// in the cache, pulls it first (progress on stderr when it is a terminal).
func ensureModel(ctx context.Context, spec string, pull bool, stderr io.Writer) (string, error) {
	p, err := resolveModel(spec)
	if err == nil || !pull || !errors.Is(err, hub.ErrNotCached) {
		return p, err
	}
	sp, perr := hub.ParseSpec(spec)
	if perr != nil {
		return "", err
	}
	if _, err := pullModel(ctx, sp, hub.PullOptions{}, stderr, isTerminal(stderr)); err != nil {
		return "", err
	}
	return resolveModel(spec)
}

// stringsFlag collects a repeatable flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func cmdPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: goformer pull [flags] ORG/NAME[:REVISION]
       goformer pull [flags] ORG/NAME/FILE.gguf[:REVISION]

Downloads a Hugging Face repository into the Hugging Face cache ($HF_HUB_CACHE,
default $HF_HOME/hub, default ~/.cache/huggingface/hub) and prints the path that
-m ORG/NAME then uses. Without --include: the safetensors weights with their
config, tokenizer and other top-level JSON/text files, or the repository's only
GGUF file. Honours HF_ENDPOINT and HF_TOKEN (private and gated repositories).
Interrupted downloads resume; every file is checked against the hub's sha256.`)
		fs.PrintDefaults()
	}
	var include stringsFlag
	fs.Var(&include, "include", "download the files matching this pattern ('*' also matches '/'; repeatable), e.g. '*Q4_K_M.gguf'")
	workers := fs.Int("j", 4, "files downloaded at once")
	verify := fs.Bool("verify", false, "re-hash files already in the cache and fetch again those that do not match")
	quiet := fs.Bool("q", false, "no progress display")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("pull takes one ORG/NAME[:REVISION] argument, got %d", len(pos))
	}
	if *workers < 1 {
		return fmt.Errorf("-j %d: want at least 1", *workers)
	}
	sp, err := hub.ParseSpec(pos[0])
	if err != nil {
		return err
	}
	opts := hub.PullOptions{Include: include, Workers: *workers, Verify: *verify}
	if sp.File != "" {
		opts.Include = append(opts.Include, sp.File)
	}
	snap, err := pullModel(ctx, sp, opts, stdout, !*quiet && isTerminal(stdout))
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("pull %s interrupted; run it again to resume the partial files: %w", sp, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, pulledPath(snap, sp, include))
	return nil
}

// pulledPath is what to print after a pull: what -m would load, else the
// one GGUF file the patterns picked, else the snapshot directory.
func pulledPath(snap string, sp hub.Spec, include []string) string {
	if p, err := hub.Resolve(hubEnv().CacheDir, sp.String()); err == nil {
		return p
	}
	var picked []string
	filepath.WalkDir(snap, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(snap, p)
		rel = filepath.ToSlash(rel)
		if err == nil && !d.IsDir() && strings.EqualFold(path.Ext(rel), ".gguf") &&
			slices.ContainsFunc(include, func(pat string) bool { return hub.Match(pat, rel) }) {
			picked = append(picked, p)
		}
		return nil
	})
	if len(picked) == 1 {
		return picked[0]
	}
	return snap
}

// pullModel pulls sp with the environment's settings, drawing progress
// bars on w when show is set.
func pullModel(ctx context.Context, sp hub.Spec, opts hub.PullOptions, w io.Writer, show bool) (string, error) {
	env := hubEnv()
	if env.Offline {
		return "", fmt.Errorf("cannot pull %s: %w", sp, hub.ErrOffline)
	}
	c := hub.NewClient(env)
	if show {
		ui := newProgressUI(w, termWidth(w))
		opts.Progress = ui.update
		stop := ui.run(150 * time.Millisecond)
		defer stop()
	}
	return c.Pull(ctx, sp.Repo, sp.Revision, opts)
}

func cmdList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: goformer list\n\nLists the models in the Hugging Face cache with their size and format.")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if len(pos) != 0 {
		fs.Usage()
		return errors.New("list takes no arguments")
	}
	cache := hubEnv().CacheDir
	ms, err := hub.List(cache)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		fmt.Fprintf(stderr, "no models in %s (get one with: goformer pull ORG/NAME)\n", cache)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tSIZE\tFORMAT\tREFS\tMODIFIED")
	for _, m := range ms {
		var refs []string
		for r := range m.Refs {
			refs = append(refs, r)
		}
		if len(refs) == 0 {
			refs = append(refs, "-")
		}
		mod := "-"
		if !m.Modified.IsZero() {
			mod = m.Modified.Format("2006-01-02")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Repo, humanBytes(m.Size), m.Format, strings.Join(refs, ","), mod)
		if len(m.GGUF) > 1 {
			for _, g := range m.GGUF {
				fmt.Fprintf(tw, "  %s/%s\t\t\t\t\n", m.Repo, g)
			}
		}
	}
	return tw.Flush()
}

func cmdRm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: goformer rm ORG/NAME...\n\nRemoves models (all their revisions) from the Hugging Face cache.")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if len(pos) == 0 {
		fs.Usage()
		return errors.New("rm takes at least one ORG/NAME")
	}
	cache := hubEnv().CacheDir
	for _, repo := range pos {
		if err := hub.Remove(cache, repo); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s\n", repo)
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 20 {
			return width
		}
	}
	return 80
}

// humanBytes formats a byte count in decimal units, as the hub shows sizes.
func humanBytes(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	f, units := float64(n)/1000, "kMGTP"
	for i := range units {
		if f < 1000 || i == len(units)-1 {
			return fmt.Sprintf("%.1f %cB", f, units[i])
		}
		f /= 1000
	}
	panic("unreachable")
}

// progressUI draws one bar per file and a total line, redrawing them in
// place with ANSI cursor movement.
type progressUI struct {
	w     io.Writer
	width int

	mu    sync.Mutex
	order []string
	files map[string]*fileBar
	lines int // lines drawn last time
	start time.Time
}

type fileBar struct {
	hub.FileProgress
	first      int64 // bytes present when downloading began (resumed prefix)
	began, end time.Time
}

// maxBars bounds the bars shown; with more files the finished ones go.
const maxBars = 16

func newProgressUI(w io.Writer, width int) *progressUI {
	return &progressUI{w: w, width: width, files: map[string]*fileBar{}, start: time.Now()}
}

func (u *progressUI) update(p hub.FileProgress) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f := u.files[p.Name]
	if f == nil {
		f = &fileBar{first: -1}
		u.files[p.Name] = f
		u.order = append(u.order, p.Name)
	}
	if p.State == hub.Downloading && f.first < 0 {
		f.first, f.began = p.Done, time.Now()
	}
	if p.State == hub.Done || p.State == hub.Cached || p.State == hub.Failed {
		f.end = time.Now()
	}
	if p.Size < 0 {
		p.Size = f.Size
	}
	f.FileProgress = p
}

// run redraws every period until the returned stop function is called,
// which draws the final state.
func (u *progressUI) run(period time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				u.draw()
			case <-done:
				u.draw()
				return
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

func (u *progressUI) draw() {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	var b strings.Builder
	if u.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", u.lines)
	}
	var total, done, fetched int64
	finished, nameW := 0, 0
	for _, n := range u.order {
		f := u.files[n]
		total += max(f.Size, 0)
		done += f.Done
		if f.first >= 0 {
			fetched += f.Done - f.first
		}
		if f.State >= hub.Cached {
			finished++
		}
		nameW = max(nameW, utf8.RuneCountInString(n))
	}
	shown := u.order
	if len(shown) > maxBars { // keep the unfinished ones, in order
		shown = nil
		for _, n := range u.order {
			if u.files[n].State < hub.Cached && len(shown) < maxBars {
				shown = append(shown, n)
			}
		}
	}
	nameW = min(nameW, u.width/3)
	lines := 0
	for _, n := range shown {
		f := u.files[n]
		var status string
		switch f.State {
		case hub.Queued:
			status = "queued"
		case hub.Cached:
			status = "cached"
		case hub.Failed:
			status = "failed"
		default:
			end := now
			if f.State == hub.Done {
				end = f.end
			}
			status = rate(f.Done-max(f.first, 0), end.Sub(f.began))
			if f.State == hub.Done {
				status = "done " + status
			}
		}
		b.WriteString("\r\x1b[2K" + u.line(fit(n, nameW), f.Done, f.Size, status) + "\n")
		lines++
	}
	status := fmt.Sprintf("%d/%d files  %s", finished, len(u.order), rate(fetched, now.Sub(u.start)))
	b.WriteString("\r\x1b[2K" + u.line(fit("total", nameW), done, total, status) + "\n")
	u.lines = lines + 1
	io.WriteString(u.w, b.String())
}

// line lays out "name [=====>    ]  42%  1.2 MB/2.9 MB  status" in the
// terminal width.
func (u *progressUI) line(name string, done, size int64, status string) string {
	pct, frac := "   ?", 0.0
	if size > 0 {
		frac = min(float64(done)/float64(size), 1)
		pct = fmt.Sprintf("%3.0f%%", 100*frac)
	} else if size == 0 {
		frac, pct = 1, "100%"
	}
	amount := fmt.Sprintf("%s/%s", humanBytes(done), humanBytes(max(size, 0)))
	right := fmt.Sprintf(" %s %17s  %-25s", pct, amount, status)
	barW := u.width - 1 - utf8.RuneCountInString(name) - 3 - utf8.RuneCountInString(right)
	if barW < 5 {
		return fit(name+right, u.width-1)
	}
	fill := int(frac * float64(barW))
	bar := strings.Repeat("=", fill)
	if fill < barW {
		bar += ">" + strings.Repeat(" ", barW-fill-1)
	}
	return name + " [" + bar + "]" + right
}

// rate formats a transfer speed.
func rate(n int64, d time.Duration) string {
	if d <= 0 || n <= 0 {
		return ""
	}
	return humanBytes(int64(float64(n)/d.Seconds())) + "/s"
}

// fit pads or cuts s (cutting in the middle) to w runes.
func fit(s string, w int) string {
	r := []rune(s)
	if len(r) <= w {
		return s + strings.Repeat(" ", w-len(r))
	}
	if w < 5 {
		return string(r[:w])
	}
	h := (w - 1) / 2
	return string(r[:h]) + "…" + string(r[len(r)-(w-1-h):])
}
