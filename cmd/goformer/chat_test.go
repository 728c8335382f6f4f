package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChatCommands drives the chat loop through a pipe: answers stream,
// /history shows the turns, /reset clears them, /save and /load round-trip.
func TestChatCommands(t *testing.T) {
	save := filepath.Join(t.TempDir(), "conv.json")
	in := strings.NewReader(strings.Join([]string{
		"Once upon a time",
		"/history",
		"/save " + save,
		"/reset",
		"/history",
		"/load " + save,
		"/history",
		"/set temperature 0",
		"/set bogus 1",
		"/nope",
		"/bye",
	}, "\n") + "\n")
	var out, errb bytes.Buffer
	err := cmdChat(context.Background(), []string{"-n", "16", "--seed", "1"}, in, &out, &errb, nil)
	if err != nil {
		t.Fatal(err, errb.String())
	}
	o := out.String()
	for _, want := range []string{
		"user: Once upon a time\nassistant: ", "(2 messages)", "saved 2 messages", "conversation cleared",
		"(0 messages)", "loaded 2 messages", "temperature = 0", `unknown setting "bogus"`, "unknown command /nope",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
}

// TestChatInTerminal runs the built binary in tmux, as a person would: the
// answer streams, Ctrl-C stops the answer but not the program, /reset
// clears the history.
func TestChatInTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives tmux")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (apt-get install tmux)")
	}
	bin := filepath.Join(t.TempDir(), "goformer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// A long answer (ignore end-of-turn, 4096 positions) so there is time to
	// interrupt it.
	tmux("new-session", "-d", "-x", "200", "-y", "50", bin+" chat -c 4096 --ignore-eos --seed 1")
	defer exec.Command("tmux", "-S", sock, "kill-server").Run()
	screen := func() string { return tmux("capture-pane", "-p", "-J", "-S", "-200") }
	waitFor := func(what string, cond func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := screen()
			if cond(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("the prompt", func(s string) bool { return strings.Contains(s, ">>> ") })
	tmux("send-keys", "Once upon a time", "Enter")
	// Streaming: the answer grows while it is being written.
	first := waitFor("the answer to start", func(s string) bool {
		return len(s) > len(">>> Once upon a time")+40
	})
	second := waitFor("the answer to grow", func(s string) bool { return len(strings.TrimSpace(s)) > len(strings.TrimSpace(first))+40 })
	if strings.Contains(second, "[interrupted]") {
		t.Fatal("interrupted before Ctrl-C")
	}
	tmux("send-keys", "C-c")
	waitFor("the interrupted answer and a new prompt", func(s string) bool {
		i := strings.Index(s, "[interrupted]")
		return i >= 0 && strings.Contains(s[i:], ">>> ")
	})
	tmux("send-keys", "/history", "Enter")
	waitFor("history of 2 messages", func(s string) bool { return strings.Contains(s, "(2 messages)") })
	tmux("send-keys", "/reset", "Enter")
	tmux("send-keys", "/history", "Enter")
	waitFor("empty history", func(s string) bool { return strings.Contains(s, "(0 messages)") })
	tmux("send-keys", "/bye", "Enter")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := exec.Command("tmux", "-S", sock, "has-session").Run(); err != nil {
			return // the program exited, closing the session
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat did not exit on /bye:\n%s", screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
