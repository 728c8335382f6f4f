module github.com/goformer/goformer

go 1.26.0

require (
	// pure-Go Jinja for chat templates (tokenizer/chat)
	github.com/ardanlabs/jinja v1.8.0
	github.com/dlclark/regexp2 v1.12.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
	golang.org/x/text v0.44.0
)
