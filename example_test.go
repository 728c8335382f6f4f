package goformer_test

import (
	"context"
	"fmt"

	"github.com/goformer/goformer"
)

// Generate greedily from the embedded model and stream the text.
func Example() {
	m, err := goformer.Load("") // "" is the embedded stories260K model
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	opts := goformer.GenerateOptions{MaxTokens: 24, Temperature: 0}
	for tok, err := range m.Generate(context.Background(), "Once upon a time", opts) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Print(tok.Text)
	}
	fmt.Println()
	// Output: , there was a little girl named Lily. She loved to play outside in the p
}

// Chat renders the conversation with the model's chat template (here one
// given at load time: the embedded model has none) and streams the reply.
// The next turn reuses the cached prefix.
func ExampleModel_Chat() {
	m, err := goformer.Load("", goformer.WithChatTemplate(
		"{% for m in messages %}{{ m.content }}\n{% endfor %}"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	msgs := []goformer.Message{{Role: "user", Content: "Tom and his dog Max went to the park."}}
	for tok, err := range m.Chat(context.Background(), msgs, goformer.GenerateOptions{MaxTokens: 12}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Print(tok.Text)
	}
	fmt.Println()
	// Output: They saw a big box and said, "W
}

// GenerateBatch advances several prompts in one forward pass per step.
func ExampleModel_GenerateBatch() {
	m, err := goformer.Load("")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	texts := make([]string, 2)
	for t, err := range m.GenerateBatch(context.Background(), []string{"Once upon a time", "Tom had a"}, goformer.GenerateOptions{MaxTokens: 8}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		texts[t.Seq] += t.Text
	}
	fmt.Printf("%q\n%q\n", texts[0], texts[1])
	// Output:
	// ", there was a little girl"
	// " big box. He liked"
}
