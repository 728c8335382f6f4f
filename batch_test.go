package goformer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/goformer/goformer"
)

func TestGenerateBatch(t *testing.T) {
	m, err := goformer.Load("")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	o := goformer.GenerateOptions{MaxTokens: 30, Temperature: 0.8, TopK: 40, Seed: 99}
	var alone strings.Builder
	for tok, err := range m.Generate(context.Background(), "Once upon a time", o) {
		if err != nil {
			t.Fatal(err)
		}
		alone.WriteString(tok.Text)
	}
	prompts := []string{"Once upon a time", "Tom had a dog", "Once upon a time"}
	texts := make([]strings.Builder, len(prompts))
	reasons := map[int]string{}
	for bt, err := range m.GenerateBatch(context.Background(), prompts, o) {
		if err != nil {
			t.Fatal(err)
		}
		if bt.Done {
			reasons[bt.Seq] = bt.StopReason
			continue
		}
		texts[bt.Seq].WriteString(bt.Text)
	}
	for _, i := range []int{0, 2} {
		if texts[i].String() != alone.String() {
			t.Errorf("batch slot %d: %q\nalone: %q", i, texts[i].String(), alone.String())
		}
	}
	if len(reasons) != 3 {
		t.Errorf("stop reasons %v, want one per prompt", reasons)
	}
	// A stop string ends one sequence without touching the others.
	stop := strings.Fields(alone.String())[2]
	o.Stop = []string{stop}
	texts = make([]strings.Builder, len(prompts))
	for bt, err := range m.GenerateBatch(context.Background(), prompts, o) {
		if err != nil {
			t.Fatal(err)
		}
		if bt.Done {
			reasons[bt.Seq] = bt.StopReason
		}
		texts[bt.Seq].WriteString(bt.Text)
	}
	if want := alone.String()[:strings.Index(alone.String(), stop)]; texts[0].String() != want || reasons[0] != "stop" {
		t.Errorf("slot 0 with stop %q: %q (%s), want %q", stop, texts[0].String(), reasons[0], want)
	}
}
