package dataset

import (
	"regexp"
	"strings"
)

// LastBoxed returns the contents of the last \boxed{...} (or \fbox{...}) in
// a LaTeX solution, braces balanced, trimmed; ok is false when there is none
// or its braces never close. The brace-less form "\boxed 5" yields the
// token after the space. This is how MATH and NuminaMath mark final answers.
func LastBoxed(s string) (answer string, ok bool) {
	for end := len(s); end > 0; {
		i := lastCommand(s[:end])
		if i < 0 {
			return "", false
		}
		if a, found := boxedAt(s, i); found {
			return a, true
		}
		end = i
	}
	return "", false
}

// lastCommand finds the start of the last \boxed or \fbox in s.
func lastCommand(s string) int {
	return max(strings.LastIndex(s, `\boxed`), strings.LastIndex(s, `\fbox`))
}

// boxedAt reads the argument of the \boxed or \fbox starting at s[i].
func boxedAt(s string, i int) (string, bool) {
	rest := s[i+1:]
	switch {
	case strings.HasPrefix(rest, "boxed"):
		rest = rest[len("boxed"):]
	case strings.HasPrefix(rest, "fbox"):
		rest = rest[len("fbox"):]
	default:
		return "", false
	}
	if rest == "" {
		return "", false
	}
	// "\boxed 5": a space, then the token up to whitespace or '$'.
	if rest[0] == ' ' {
		tok := strings.TrimLeft(rest, " ")
		if tok == "" || tok[0] == '{' {
			rest = tok
		} else {
			end := strings.IndexAny(tok, " \t\n$")
			if end < 0 {
				end = len(tok)
			}
			a := strings.TrimSpace(tok[:end])
			return a, a != ""
		}
	}
	if rest == "" || rest[0] != '{' {
		return "", false // e.g. \boxedsomething: another command
	}
	depth := 0
	for j := 0; j < len(rest); j++ {
		switch rest[j] {
		case '\\':
			j++ // skip the escaped character, e.g. \{ or \}
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				a := strings.TrimSpace(rest[1:j])
				return a, a != ""
			}
		}
	}
	return "", false
}

var calcAnnotation = regexp.MustCompile(`<<[^<>]*>>`)

// StripCalculatorAnnotations removes GSM8K's calculator annotations
// ("<<16-3-4=9>>") from a solution, leaving the prose a model would write:
// "16 - 3 - 4 = <<16-3-4=9>>9" becomes "16 - 3 - 4 = 9".
func StripCalculatorAnnotations(s string) string {
	if !strings.Contains(s, "<<") {
		return s
	}
	return calcAnnotation.ReplaceAllString(s, "")
}
