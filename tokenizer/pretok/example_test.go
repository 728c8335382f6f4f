package pretok_test

import (
	"fmt"

	"github.com/goformer/goformer/tokenizer/pretok"
)

func Example() {
	// The Split regex of a Llama 3 tokenizer.json gets a hand-written matcher.
	s, err := pretok.New(pretok.PatternLlama3)
	if err != nil {
		panic(err)
	}
	text := "I'M here: 12345\n\n  ok"
	for _, sp := range s.Split(text, nil) { // byte spans, appended to dst
		fmt.Printf("%q|", text[sp[0]:sp[1]])
	}
	fmt.Println()

	// A GGUF vocabulary's tokenizer.ggml.pre value.
	g, err := pretok.ForGGUFPre("deepseek-coder")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", pretok.Strings(g, "x=42\nok", nil))
	// Output:
	// "I"|"'M"|" here"|":"|" "|"123"|"45"|"\n\n"|" "|" ok"|
	// ["x" "=" "4" "2" "\n" "ok"]
}
