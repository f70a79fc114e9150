package providers

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Restart is the verdict of DetectRestart on one continuation.
type Restart struct {
	// Restarted reports that the continuation starts over instead of
	// continuing the prefix.
	Restarted bool `json:"restarted"`
	// Reason says which signal fired, for humans; empty when not restarted.
	Reason string `json:"reason,omitempty"`
}

// freshOpeners match the first line of an answer that begins from scratch.
// They are only a restart signal when the prefix already holds at least one
// complete step.
var freshOpeners = regexp.MustCompile(`(?i)^(?:[#*>\s]*)(?:` +
	`let'?s (?:solve|work|think|start|begin|break|tackle|figure|approach|find|go through|first)|` +
	`let me (?:solve|start|begin|work|think|re-?solve|redo|restart|approach|break)|` +
	`to (?:solve|find|determine|calculate|answer|figure out|compute) (?:this|the|how|what|a|an)\b|` +
	`we (?:need|are asked) to (?:find|determine|calculate|compute|solve)|` +
	`(?:sure|okay|ok|alright|certainly)[,!.]? (?:let'?s|let me|here|i'?ll)|` +
	`i'?ll (?:solve|start|work|begin)|` +
	`here(?:'s| is) (?:a |the |my )?(?:step[- ]by[- ]step |complete |full )?(?:solution|approach|answer)|` +
	`(?:solution|answer)\s*:\s*$|` +
	`starting (?:over|again|from (?:the beginning|scratch))|` +
	`(?:step|stage) (?:1|one)\b|` +
	`1[.)]\s` +
	`)`)

// stepNumber finds "Step 3" style labels.
var stepNumber = regexp.MustCompile(`(?i)\bstep\s+(\d+)\b`)

// DetectRestart reports whether continuation, written after prefix in
// answer to question, starts over instead of continuing. Signals, checked on
// the opening of the continuation:
//
//   - it echoes the prefix, or repeats the prefix's first line;
//   - it restates the problem (a long run of the question's words);
//   - it opens a fresh answer ("Let's solve this step by step", "To solve",
//     "Step 1:") although the prefix already holds a complete step;
//   - it numbers its first step at or below the prefix's last step number.
//
// An empty prefix never yields a restart: a fresh answer is what was asked.
// DetectRestart is a heuristic tuned on real GSM8K and MATH traces; see
// restart_test.go for its measured rates. It is pure and safe for concurrent
// use.
func DetectRestart(question, prefix, continuation string) Restart {
	p := strings.TrimSpace(prefix)
	c := strings.TrimSpace(continuation)
	if p == "" || c == "" {
		return Restart{}
	}
	// Echo of the whole prefix (or its first 60 characters).
	if head := squashHead(p, 60); len(head) >= 12 {
		if squashHead(c, len(head)) == head {
			return Restart{true, "repeats the prefix's opening verbatim"}
		}
	}
	cLines, pLines := firstLines(c, 2), firstLines(p, 2)
	if pc := completeSteps(prefix); pc < len(pLines) {
		pLines = pLines[:max(pc, 1)]
	}
	cFirst := cLines[0]
	if repeatsLines(cLines, pLines) {
		return Restart{true, "repeats the prefix's first line: " + quote(cFirst)}
	}
	if eq := equations(cFirst); len(eq) > 0 && slices.Contains(equations(pLines[0]), eq[0]) && count(equations(p), eq[0]) == 1 {
		return Restart{true, "redoes the prefix's first computation " + strconv.Quote(eq[0])}
	}
	if q := words(prose(question)); len(q) >= 8 {
		opening := words(prose(firstChars(c, 300)))
		if run, at, atQ := longestCommonRun(opening, q); at <= 10 && (run >= 10 && atQ <= 10 || run >= 7 && run*10 >= len(q)*6) {
			return Restart{true, "restates the problem (" + strconv.Itoa(run) + " consecutive words of the question)"}
		}
	}
	pastStep1 := completeSteps(prefix) >= 1
	if pastStep1 {
		if m := freshOpeners.FindString(cFirst); m != "" {
			return Restart{true, "opens a fresh answer: " + quote(cFirst)}
		}
	}
	if last := lastStepNumber(p); last >= 1 {
		if m := stepNumber.FindStringSubmatch(firstChars(c, 80)); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n <= last && strings.HasPrefix(strings.ToLower(strings.TrimLeft(cFirst, "#*> ")), "step") {
				return Restart{true, "numbers its first step " + m[1] + " after the prefix reached step " + strconv.Itoa(last)}
			}
		}
	}
	return Restart{}
}

// StripEcho removes an echoed prefill from the start of text: servers such as
// Mistral's return the prefix followed by the continuation. It reports
// whether an echo was found. Leading whitespace differences are tolerated
// (Anthropic's API trims the prefill's trailing whitespace).
func StripEcho(prefill, text string) (string, bool) {
	if prefill == "" {
		return text, false
	}
	if rest, ok := strings.CutPrefix(text, prefill); ok {
		return rest, true
	}
	tp := strings.TrimSpace(prefill)
	if len(tp) < 2 {
		return text, false
	}
	if rest, ok := strings.CutPrefix(strings.TrimLeftFunc(text, unicode.IsSpace), tp); ok {
		return rest, true
	}
	return text, false
}

// completeSteps counts the non-empty lines of prefix that end in a newline.
func completeSteps(prefix string) int {
	n := 0
	lines := strings.Split(prefix, "\n")
	for _, l := range lines[:len(lines)-1] {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	// A long prefix without newlines (one paragraph) still counts as past
	// step 1 once it holds a finished sentence.
	if n == 0 && len(prefix) > 80 && strings.ContainsAny(prefix, ".!?") {
		n = 1
	}
	return n
}

func lastStepNumber(s string) int {
	ms := stepNumber.FindAllStringSubmatch(s, -1)
	if len(ms) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(ms[len(ms)-1][1])
	return n
}

// repeatsLines reports whether the continuation's opening lines c match the
// prefix's opening lines p: the first nearly verbatim, and, when both have a
// second line, the second loosely too.
func repeatsLines(c, p []string) bool {
	if len(c) == 0 || len(p) == 0 {
		return false
	}
	c0, p0 := words(c[0]), words(p[0])
	if len(c0) < 4 || len(p0) < 4 || jaccard(c0, p0) < 0.85 {
		return false
	}
	if len(c) > 1 && len(p) > 1 {
		return jaccard(words(c[1]), words(p[1])) >= 0.6
	}
	return true
}

// equationRE matches "a op b = c" arithmetic, as written in math traces.
var equationRE = regexp.MustCompile(`(?:^|[^\w^.{])\d[\d.,]*\s*[-+*/x×÷]\s*\d[\d.,]*(?:\s*[-+*/x×÷]\s*\d[\d.,]*)*\s*=\s*\$?\d[\d.,]*`)

// equations returns the arithmetic equations in s, whitespace removed.
func equations(s string) []string {
	if !strings.Contains(s, "=") {
		return nil // every match holds one
	}
	ms := equationRE.FindAllString(s, -1)
	for i, m := range ms {
		m = strings.TrimLeftFunc(m, func(r rune) bool { return !unicode.IsDigit(r) })
		m = strings.Join(strings.Fields(m), "")
		ms[i] = strings.TrimRight(strings.ReplaceAll(m, "$", ""), ".,")
	}
	return ms
}

// latexNoise matches LaTeX commands, math spans and Asymptote blocks, which
// solutions copy from the problem without restating it.
var latexNoise = regexp.MustCompile(`(?s)\[asy\].*?(?:\[/asy\]|$)|\$\$.*?(?:\$\$|$)|\$[^$]*(?:\$|$)|\\\[.*?(?:\\\]|$)|\\[a-zA-Z]+`)

// prose drops math notation from s, keeping its words.
func prose(s string) string {
	// Every match begins with "[asy]", "$" or a backslash: most text
	// (GSM8K's) has none, and the regexp would only copy it.
	if !strings.ContainsAny(s, "$\\") && !strings.Contains(s, "[asy]") {
		return s
	}
	return dropLatexNoise(s)
}

// dropLatexNoise is latexNoise.ReplaceAllString(s, " ") without the
// regexp (FuzzRestartShortcuts holds them equal): at the leftmost place one
// of latexNoise's alternatives matches, the first that does, replaced by a
// space. Every alternative starts with an ASCII byte, which is never part
// of a longer UTF-8 sequence, so scanning bytes finds the places the
// regexp's runes do.
func dropLatexNoise(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		end := latexNoiseAt(s, i)
		if end < 0 {
			i++
			continue
		}
		b.WriteString(s[done:i])
		b.WriteByte(' ')
		i, done = end, end
	}
	b.WriteString(s[done:])
	return b.String()
}

// latexNoiseAt is the end of latexNoise's match starting at s[i], or -1.
func latexNoiseAt(s string, i int) int {
	// through returns the end of the first closer at or after from, or len(s).
	through := func(from int, closer string) int {
		if j := strings.Index(s[from:], closer); j >= 0 {
			return from + j + len(closer)
		}
		return len(s)
	}
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "[asy]"):
		return through(i+len("[asy]"), "[/asy]")
	case strings.HasPrefix(rest, "$$"):
		return through(i+2, "$$")
	case rest[0] == '$':
		return through(i+1, "$")
	case strings.HasPrefix(rest, `\[`):
		return through(i+2, `\]`)
	case rest[0] == '\\':
		j := i + 1
		for j < len(s) && ('a' <= s[j] && s[j] <= 'z' || 'A' <= s[j] && s[j] <= 'Z') {
			j++
		}
		if j > i+1 {
			return j
		}
	}
	return -1
}

// firstLines returns up to n non-empty trimmed lines of s (at least one,
// possibly empty).
func firstLines(s string, n int) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			out = append(out, t)
			if len(out) == n {
				break
			}
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			return t
		}
	}
	return ""
}

func firstChars(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func quote(s string) string {
	r := []rune(s)
	if len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return strconv.Quote(s)
}

// squashHead lowercases s and drops everything but letters and digits,
// up to the first n bytes of the result (all of it if shorter), without
// reading the rest of s.
func squashHead(s string, n int) string {
	b := make([]byte, 0, n+utf8.UTFMax)
	for _, r := range s {
		if len(b) >= n {
			break
		}
		if r = unicode.ToLower(r); unicode.IsLetter(r) || unicode.IsDigit(r) {
			b = utf8.AppendRune(b, r)
		}
	}
	return string(b[:min(n, len(b))])
}

// words splits s into lowercase letter/digit runs: the fields of
// strings.ToLower(s) between runes that are neither letters nor digits
// (FuzzWords holds the two equal). ASCII text is split without
// lowercasing a copy first: a word with no upper-case letter is a
// substring of s.
func words(s string) []string {
	var out []string
	start := -1    // where the current word starts in s, or -1
	upper := false // the current word holds an upper-case ASCII letter
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return wordsUnicode(s)
		}
		isUpper := 'A' <= c && c <= 'Z'
		word := isUpper || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		switch {
		case word && start < 0:
			start, upper = i, isUpper
		case word:
			upper = upper || isUpper
		case start >= 0:
			out = append(out, asciiWord(s[start:i], upper))
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, asciiWord(s[start:], upper))
	}
	return out
}

// asciiWord is w lowercased (w is ASCII; upper says whether it needs it).
func asciiWord(w string, upper bool) string {
	if !upper {
		return w
	}
	return strings.ToLower(w)
}

// wordsUnicode is words for text beyond ASCII.
func wordsUnicode(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// jaccard is |A ∩ B| / |A ∪ B| of the sets of words in a and b (0 when
// both are empty).
func jaccard(a, b []string) float64 {
	sa, sb := distinct(a), distinct(b)
	inter := 0
	for i, j := 0, 0; i < len(sa) && j < len(sb); {
		switch {
		case sa[i] < sb[j]:
			i++
		case sa[i] > sb[j]:
			j++
		default:
			inter++
			i++
			j++
		}
	}
	union := len(sa) + len(sb) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// distinct is ws sorted, without repeats (a copy).
func distinct(ws []string) []string {
	out := slices.Clone(ws)
	slices.Sort(out)
	return slices.Compact(out)
}

// longestCommonRun is the length of the longest run of consecutive words
// shared by a and b, and where it starts in a and in b.
func longestCommonRun(a, b []string) (n, atA, atB int) {
	best, at, atB := 0, 0, 0
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
				if cur[j] > best {
					best, at, atB = cur[j], i-cur[j], j-cur[j]
				}
			} else {
				cur[j] = 0
			}
		}
		prev, cur = cur, prev
	}
	return best, at, atB
}

func count(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}
