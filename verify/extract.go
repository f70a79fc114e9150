package verify

import (
	"strings"
)

// Extraction sources, in priority order. Extract reports which one found the
// answer; Verdict.Reason repeats it.
const (
	SourceJSON        = "json-answer"    // the "answer" field of a JSON object
	SourceSection     = "answer-section" // a "# Answer" / "**Final Answer**" heading and what follows
	SourceFinalAnswer = "final-answer"   // "The final answer is X. I hope it is correct."
	SourceBoxed       = "boxed"          // the last \boxed{} / \fbox{} (adjacent boxes joined)
	SourceHashes      = "gsm8k-hashes"   // GSM8K "#### N"
	SourceAnswerIs    = "answer-is"      // "The answer is X", "Answer: X"
	SourceALine       = "a-line"         // a final "A: N" line
	SourceBold        = "bold"           // the last **X**
	SourceWhole       = "whole"          // the whole text is a single answer
	SourceMath        = "last-math"      // the last $…$, \(…\), \[…\] or $$…$$
	SourceNumber      = "last-number"    // the last number in the text
	SourceChoice      = "choice"         // a multiple-choice letter found in prose
	SourceNone        = "none"           // nothing found
)

// maxScan bounds how much of a long response is searched for low-priority
// patterns (bold, math, numbers); markers are searched in the whole text.
const maxScan = 64 << 10

// Extract finds the final answer in a free-text response and reports which
// rule found it. The rules, in priority order:
//
//  0. the "answer" (or "final_answer") field of a JSON object, unescaped;
//     then, when the response is JSON, its escapes are undone for the
//     rules below
//  0. an answer section: a heading line "# Answer", "## Final Answer" or
//     "**Final Answer**" (indented or not) and the box or first paragraph
//     after it (PRM800K and QwQ style)
//  1. "final answer is X" (optionally followed by "I hope it is correct")
//  2. the last \boxed{X} or \fbox{X} (nested braces; boxes separated only by
//     punctuation or "and" are joined into a list)
//  3. GSM8K "#### X"
//  4. "the answer is X", "Answer: X"
//  5. a final "A: X" line
//  6. the last bold **X**
//  7. the whole text, when it is short and reads as a single answer
//  8. the last math span ($…$, \(…\), \[…\], $$…$$) or the last number,
//     whichever ends later
//
// The returned answer is raw LaTeX/text; Math normalizes it before comparing.
func Extract(response string) (answer, source string) {
	return extract(response, false)
}

func extract(s string, isRef bool) (string, string) {
	if !isRef {
		a, st := jsonAnswer(s)
		if st == jsonFound {
			return a, SourceJSON
		}
		if looksJSON(s) {
			s = jsonUnescape(s)
		}
		if st == jsonBlank {
			// the answer field was left blank: only an explicit marker may
			// still give the answer, never the last number of the reasoning
			return markerOnly(s)
		}
	}
	if a, ok := answerSection(s); ok {
		return a, SourceSection
	}
	if a, ok := finalAnswer(s); ok {
		return a, SourceFinalAnswer
	}
	if a, ok := lastBoxed(s); ok {
		return a, SourceBoxed
	}
	if i := strings.LastIndex(s, "####"); i >= 0 {
		a := strings.TrimSpace(firstLine(s[i+4:]))
		if a != "" {
			return a, SourceHashes
		}
	}
	t := strings.TrimSpace(s)
	if isRef && strings.HasPrefix(t, "{{") {
		t = collapseBraces(t)
	}
	if a, ok := mathSpansOnly(t); ok {
		return a, SourceWhole
	}
	if isRef && len(t) <= 40 && strings.Contains(t, ":") {
		if _, ok := timeOf(normalize(t)); ok {
			return t, SourceWhole
		}
	}
	if isRef && len(t) <= 200 && strings.ContainsAny(t, " :") && looksLikeAnswer(t) && !parses(t) {
		if a, src := lastMathOrNumber(t); src != SourceNone {
			return a, src
		}
	}
	if isRef && len(t) <= 200 && !strings.Contains(strings.ToLower(t), "answer") {
		return t, SourceWhole
	}
	if a, ok := answerIs(s); ok {
		return a, SourceAnswerIs
	}
	if a, ok := aLine(s); ok {
		return a, SourceALine
	}
	if a, ok := lastBold(s); ok {
		return a, SourceBold
	}
	if len(t) <= 120 && looksLikeAnswer(t) && parses(t) {
		return t, SourceWhole
	}
	return lastMathOrNumber(s)
}

// markerOnly applies only the explicit answer rules (section, final
// answer, box, "the answer is").
func markerOnly(s string) (string, string) {
	if a, ok := answerSection(s); ok {
		return a, SourceSection
	}
	if a, ok := finalAnswer(s); ok {
		return a, SourceFinalAnswer
	}
	if a, ok := lastBoxed(s); ok {
		return a, SourceBoxed
	}
	if a, ok := answerIs(s); ok {
		return a, SourceAnswerIs
	}
	return "", SourceNone
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// lastIndexFold is a case-insensitive strings.LastIndex for lower-case
// ASCII needles.
func lastIndexFold(s, needle string) int {
	n := len(needle)
	if n == 0 || len(s) < n {
		return -1
	}
	c0 := needle[0]
	for i := len(s) - n; i >= 0; i-- {
		if s[i]|0x20 != c0 {
			continue
		}
		j := 1
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				break
			}
		}
		if j == n {
			return i
		}
	}
	return -1
}

func finalAnswer(s string) (string, bool) {
	i := lastIndexFold(s, "final answer is")
	if i < 0 {
		return "", false
	}
	seg := s[i+len("final answer is"):]
	if j := lastIndexFold(seg, "i hope it is correct"); j >= 0 {
		seg = seg[:j]
	}
	return segmentAnswer(seg)
}

// segmentAnswer picks the answer out of the text that follows a marker such
// as "the answer is".
func segmentAnswer(seg string) (string, bool) {
	seg = strings.TrimLeft(seg, " \t:*\"'")
	seg = strings.TrimPrefix(seg, "\\\"")
	if seg == "" {
		return "", false
	}
	if strings.HasPrefix(seg, "\\boxed") || strings.HasPrefix(seg, "\\fbox") {
		if bs := boxes(seg); len(bs) > 0 {
			return strings.TrimSpace(bs[0].content), true
		}
	}
	if t := strings.TrimLeft(seg, " \t\n:*"); strings.HasPrefix(t, "\\[") || strings.HasPrefix(t, "$$") {
		// "The final answer is:\n\n\\[ … \\]": a display on the next lines
		if a, _, ok := leadingMath(t); ok && a != "" {
			return a, true
		}
	}
	for _, end := range []string{"\",", "\"}", "\"\n", "\\\","} {
		// the end of a JSON string value: `the answer is 9", "answer": …`
		if k := strings.Index(seg, end); k >= 0 {
			seg = seg[:k]
		}
	}
	if k := strings.IndexByte(seg, '"'); k > 0 && seg[k-1] != '\\' {
		seg = seg[:k] // `40" because …`: the value ends at the quote
	}
	seg = cutProseAfterNumber(stripEmphasis(sentence(seg)))
	seg = strings.TrimSpace(strings.Trim(strings.ReplaceAll(seg, "\\\"", ""), "\"' "))
	if seg == "" {
		return "", false
	}
	if a, ok := mathSpansOnly(seg); ok {
		return a, true
	}
	if a, _, ok := leadingMath(seg); ok {
		return a, true
	}
	if a, ok := lastBoxed(seg); ok {
		return a, true
	}
	if looksLikeAnswer(seg) {
		return seg, true
	}
	if j := strings.LastIndex(seg, " is "); j >= 0 {
		if a, ok := segmentAnswer(seg[j+4:]); ok {
			return a, true
		}
	}
	if a, src := lastMathOrNumber(seg); src != SourceNone {
		return a, true
	}
	return seg, true
}

// cutProseAfterNumber cuts "335, as Ellen spent …" to "335": a number
// followed by a comma and a word is the answer and its explanation.
func cutProseAfterNumber(s string) string {
	k := strings.Index(s, ", ")
	if k <= 0 || k+2 >= len(s) || s[k+2] < 'a' || s[k+2] > 'z' {
		return s
	}
	head := strings.TrimPrefix(s[:k], "$")
	head = strings.TrimPrefix(head, "-")
	for i := 0; i < len(head); i++ {
		if !(head[i] >= '0' && head[i] <= '9' || head[i] == '.' || head[i] == ',') {
			return s
		}
	}
	if head == "" || strings.HasPrefix(s[k+2:], "and ") || strings.HasPrefix(s[k+2:], "or ") {
		return s
	}
	return s[:k]
}

// sentence cuts s at the first sentence end: a period followed by space or
// end of text (not a decimal point), or a newline.
func sentence(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return strings.TrimSpace(s[:i])
		case '.':
			if i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\n' || s[i+1] == '$' {
				return strings.TrimSpace(s[:i])
			}
		}
	}
	return strings.TrimSpace(s)
}

// leadingMath returns the content of a math span that starts s.
func leadingMath(s string) (string, int, bool) {
	for _, d := range mathDelims {
		if strings.HasPrefix(s, d[0]) {
			rest := s[len(d[0]):]
			j := indexUnescaped(rest, d[1])
			if j < 0 {
				return "", 0, false
			}
			if d[0] == "$" && strings.Contains(rest[:j], "\n") {
				return "", 0, false
			}
			return strings.TrimSpace(rest[:j]), len(d[0]) + j + len(d[1]), true
		}
	}
	return "", 0, false
}

var mathDelims = [][2]string{{"$$", "$$"}, {"\\[", "\\]"}, {"\\(", "\\)"}, {"$", "$"}}

// boxSpan is one \boxed{...} occurrence: content and byte range.
type boxSpan struct {
	content    string
	start, end int
}

// boxes finds all top-level \boxed{} / \fbox{} spans. Unbalanced braces end
// the box at the end of text.
func boxes(s string) []boxSpan {
	var out []boxSpan
	i := 0
	for {
		j := strings.Index(s[i:], "\\boxed")
		k := strings.Index(s[i:], "\\fbox")
		if j < 0 && k < 0 {
			return out
		}
		skip := len("\\boxed")
		if j < 0 || (k >= 0 && k < j) {
			j = k
			skip = len("\\fbox")
		}
		start := i + j
		p := start + skip
		for p < len(s) && s[p] == ' ' {
			p++
		}
		if p >= len(s) || s[p] != '{' {
			// \boxed 5 (space form)
			q := p
			for q < len(s) && s[q] != '$' && s[q] != '\n' && s[q] != ' ' {
				q++
			}
			if q > p {
				out = append(out, boxSpan{s[p:q], start, q})
				i = q
			} else {
				i = p
			}
			if i >= len(s) {
				return out
			}
			continue
		}
		depth := 0
		q := p
		for ; q < len(s); q++ {
			switch s[q] {
			case '\\':
				q++ // skip escaped char such as \{ or \}
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if q >= len(s) {
			out = append(out, boxSpan{s[p+1:], start, len(s)})
			return out
		}
		out = append(out, boxSpan{s[p+1 : q], start, q + 1})
		i = q + 1
	}
}

// lastBoxed returns the last box, joined with the boxes right before it when
// only punctuation, whitespace, math delimiters or a short "and" phrase
// separate them.
func lastBoxed(s string) (string, bool) {
	if !strings.Contains(s, "\\boxed") && !strings.Contains(s, "\\fbox") {
		return "", false
	}
	bs := boxes(s)
	if len(bs) == 0 {
		return "", false
	}
	last := len(bs) - 1
	first := last
	for first > 0 && joinable(s[bs[first-1].end:bs[first].start]) {
		first--
	}
	if first == last {
		return strings.TrimSpace(bs[last].content), true
	}
	parts := make([]string, 0, last-first+1)
	for _, b := range bs[first : last+1] {
		parts = append(parts, strings.TrimSpace(b.content))
	}
	return strings.Join(parts, ", "), true
}

func joinable(sep string) bool {
	if len(sep) > 40 {
		return false
	}
	low := strings.ToLower(sep)
	clean := strings.NewReplacer("\\quad", "", "\\qquad", "", "\\text", "", "\\(", "", "\\)", "", "\\[", "", "\\]", "", "\\,", "", "\\;", "").Replace(low)
	if strings.Trim(clean, " \t\n,;$.{}&") == "" {
		return true
	}
	if !strings.ContainsAny(clean, "abcdefghijklmnopqrstuvwxyz0123456789") {
		return true
	}
	for _, w := range strings.FieldsFunc(clean, func(r rune) bool { return !(r >= 'a' && r <= 'z') }) {
		if w == "and" || w == "or" {
			return true
		}
	}
	return false
}

// mathSpansOnly reports whether t consists only of math spans separated by
// commas, "and" or "or"; it returns their contents joined by ", ".
func mathSpansOnly(t string) (string, bool) {
	if t == "" || (t[0] != '$' && !strings.HasPrefix(t, "\\(") && !strings.HasPrefix(t, "\\[")) {
		return "", false
	}
	var parts []string
	rest := t
	for rest != "" {
		a, end, ok := leadingMath(rest)
		if !ok {
			return "", false
		}
		parts = append(parts, a)
		rest = strings.TrimSpace(rest[end:])
		rest = strings.TrimLeft(rest, ".")
		rest = strings.TrimSpace(rest)
		if rest == "" {
			break
		}
		low := strings.ToLower(rest)
		switch {
		case strings.HasPrefix(low, "and "), strings.HasPrefix(low, "or "):
			rest = strings.TrimSpace(rest[strings.IndexByte(rest, ' '):])
		case strings.HasPrefix(low, ","):
			rest = strings.TrimSpace(rest[1:])
		default:
			return "", false
		}
	}
	return strings.Join(parts, ", "), len(parts) > 0
}

var answerMarkers = []string{"the answer is", "answer is", "answer:", "answer :"}

func answerIs(s string) (string, bool) {
	best, bestEnd := -1, 0
	for _, m := range answerMarkers {
		if i := lastIndexFold(s, m); i >= 0 && i > best {
			best, bestEnd = i, i+len(m)
		}
	}
	if best < 0 {
		return "", false
	}
	return segmentAnswer(s[bestEnd:])
}

func aLine(s string) (string, bool) {
	t := strings.TrimRight(s, " \n\t")
	line := t
	if i := strings.LastIndexByte(t, '\n'); i >= 0 {
		line = t[i+1:]
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "A:") {
		a := strings.TrimSpace(line[2:])
		if a != "" {
			return strings.TrimSuffix(a, "."), true
		}
	}
	return "", false
}

func lastBold(s string) (string, bool) {
	if len(s) > maxScan {
		s = s[len(s)-maxScan:]
	}
	j := strings.LastIndex(s, "**")
	if j < 0 {
		return "", false
	}
	i := strings.LastIndex(s[:j], "**")
	if i < 0 {
		return "", false
	}
	a := strings.TrimSpace(s[i+2 : j])
	// only when the bold span is the last thing of substance
	if a == "" || len(a) > 80 || len(strings.TrimSpace(s[j+2:])) > 20 {
		return "", false
	}
	if a2, ok := segmentAnswer(a); ok {
		return a2, true
	}
	return a, true
}

// looksLikeAnswer reports whether t is plausibly a bare answer (no prose).
func looksLikeAnswer(t string) bool {
	if t == "" || strings.Contains(t, "\n") {
		return false
	}
	words := 0
	for _, w := range strings.Fields(t) {
		letters := 0
		for _, r := range w {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				letters++
			} else {
				letters = -100
				break
			}
		}
		if letters >= 3 {
			words++
		}
	}
	return words <= 1
}

// lastMathOrNumber returns whichever of the last math span and the last
// number ends later in s.
func lastMathOrNumber(s string) (string, string) {
	if len(s) > maxScan {
		s = s[len(s)-maxScan:]
	}
	m, mEnd := lastMathSpan(s)
	n, nEnd := lastNumber(s)
	if mEnd < 0 && nEnd < 0 {
		return "", SourceNone
	}
	if mEnd >= nEnd {
		return m, SourceMath
	}
	return n, SourceNumber
}

// lastMathSpan finds the last math span whose content parses.
func lastMathSpan(s string) (string, int) {
	type span struct {
		c   string
		end int
	}
	var spans []span
	i := 0
	for i < len(s) {
		// jump to the next possible delimiter
		k := strings.IndexAny(s[i:], "$\\")
		if k < 0 {
			break
		}
		i += k
		var d [2]string
		found := false
		for _, dd := range mathDelims {
			if strings.HasPrefix(s[i:], dd[0]) && (dd[0] != "$" || i == 0 || s[i-1] != '\\') {
				d, found = dd, true
				break
			}
		}
		if !found {
			i++
			continue
		}
		rest := s[i+len(d[0]):]
		j := strings.Index(rest, d[1])
		if d[0] == "$" {
			// skip escaped dollars inside
			for j > 0 && rest[j-1] == '\\' {
				k := strings.Index(rest[j+1:], d[1])
				if k < 0 {
					j = -1
					break
				}
				j += 1 + k
			}
		}
		if j < 0 {
			i += len(d[0])
			continue
		}
		c := rest[:j]
		end := i + len(d[0]) + j + len(d[1])
		if !((d[0] == "$" || d[0] == "\\(") && strings.Contains(c, "\n")) {
			spans = append(spans, span{strings.TrimSpace(c), end})
		}
		i = end
	}
	for k := len(spans) - 1; k >= 0 && k >= len(spans)-4; k-- {
		c := spans[k].c
		if c == "" {
			continue
		}
		if _, err := parseMath(normalize(c)); err == nil {
			return c, spans[k].end
		}
	}
	return "", -1
}

// lastNumber finds the last number: optional sign, thousands groups,
// decimals; a decimal comma ("2,74") is read as a decimal point when it
// cannot be a thousands separator and is not inside brackets.
func lastNumber(s string) (string, int) {
	end := -1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] >= '0' && s[i] <= '9' {
			end = i + 1
			break
		}
	}
	if end < 0 {
		return "", -1
	}
	start := end
	for start > 0 {
		c := s[start-1]
		if c >= '0' && c <= '9' {
			start--
			continue
		}
		if (c == '.' || c == ',') && start-2 >= 0 && s[start-2] >= '0' && s[start-2] <= '9' {
			start--
			continue
		}
		if c == '.' {
			start--
		}
		break
	}
	if start > 1 && s[start-1] == '/' && s[start-2] >= '0' && s[start-2] <= '9' {
		// a plain fraction such as 2/3
		k := start - 1
		for k > 0 && s[k-1] >= '0' && s[k-1] <= '9' {
			k--
		}
		if k > 0 && s[k-1] == '-' {
			k--
		}
		return s[k:end], end
	}
	if start > 0 && s[start-1] == '-' {
		start--
	}
	num := strings.Trim(s[start:end], ".,")
	// resolve commas: thousands groups (exactly 3 digits) are dropped; a
	// single other comma is a decimal comma; else keep the last group.
	if strings.Contains(num, ",") {
		groups := strings.Split(num, ",")
		thousands := true
		for _, g := range groups[1:] {
			d := g
			if k := strings.IndexByte(g, '.'); k >= 0 {
				d = g[:k]
			}
			if len(d) != 3 {
				thousands = false
			}
		}
		first := strings.TrimPrefix(groups[0], "-")
		switch {
		case thousands && len(first) <= 3 && len(first) > 0:
			num = strings.ReplaceAll(num, ",", "")
		case len(groups) == 2 && !strings.Contains(groups[0], ".") && !strings.Contains(groups[1], ".") &&
			(start == 0 || !strings.ContainsRune("([{,", rune(s[start-1]))):
			num = groups[0] + "." + groups[1]
		default:
			num = groups[len(groups)-1]
		}
	}
	return num, end
}

// parses reports whether t normalizes to something the parser accepts.
func parses(t string) bool {
	_, err := parseMath(normalize(t))
	return err == nil
}

// indexUnescaped is strings.Index that skips matches preceded by a
// backslash when the delimiter is a dollar sign ("\$5" is currency).
func indexUnescaped(s, delim string) int {
	off := 0
	for {
		j := strings.Index(s[off:], delim)
		if j < 0 {
			return -1
		}
		j += off
		if delim[0] != '$' || j == 0 || s[j-1] != '\\' {
			return j
		}
		off = j + 1
	}
}
