module github.com/goformer/goformer

go 1.26

require (
	github.com/dlclark/regexp2 v1.12.0
	golang.org/x/sys v0.50.0
)
