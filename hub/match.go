package hub

import (
	"regexp"
	"strings"
)

// Match reports whether a repository file name matches an --include
// pattern (see globMatch).
func Match(pattern, name string) bool { return globMatch(pattern, name) }

// globMatch reports whether name matches the shell pattern pat as
// huggingface_hub's allow_patterns do (Python's fnmatch): '*' matches any
// run of characters including '/', '?' any one character, [...] a class
// ([!...] negated). A pattern ending in '/' matches everything under it.
func globMatch(pat, name string) bool {
	re, err := globRegexp(pat)
	return err == nil && re.MatchString(name)
}

func globRegexp(pat string) (*regexp.Regexp, error) {
	if strings.HasSuffix(pat, "/") {
		pat += "*"
	}
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(pat); {
		switch pat[i] {
		case '*':
			b.WriteString(`.*`)
			i++
		case '?':
			b.WriteString(`.`)
			i++
		case '[':
			// The class ends at the first ']' after an optional '!' and
			// an optional leading ']' (which is then literal).
			j := i + 1
			if j < len(pat) && pat[j] == '!' {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			k := strings.IndexByte(pat[j:], ']')
			if k < 0 {
				b.WriteString(`\[`)
				i++
				continue
			}
			class := pat[i+1 : j+k]
			i = j + k + 1
			b.WriteByte('[')
			if strings.HasPrefix(class, "!") {
				b.WriteByte('^')
				class = class[1:]
			}
			b.WriteString(strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, `^`, `\^`).Replace(class))
			b.WriteByte(']')
		default:
			j := strings.IndexAny(pat[i:], "*?[")
			if j < 0 {
				j = len(pat) - i
			}
			b.WriteString(regexp.QuoteMeta(pat[i : i+j]))
			i += j
		}
	}
	b.WriteString(`)$`)
	return regexp.Compile(b.String())
}
