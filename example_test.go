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
