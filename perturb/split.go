package perturb

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Step is one reasoning step of a trace, as a span of the original text:
// Text == source[Start:End]. Because a step is a span rather than a copy, a
// cut after any step is always a byte prefix of the source.
//
// A step's span never begins or ends with whitespace (line indentation and
// trailing spaces or "\r" are left out), so a prefix ending at Step.End never
// ends with whitespace — some providers reject prefills that do.
type Step struct {
	// Start and End are byte offsets into the source, Start < End.
	Start int `json:"start"`
	End   int `json:"end"`
	// Text is source[Start:End].
	Text string `json:"text"`
}

// MinLineSteps is the number of line-level steps below which Split falls
// back to splitting prose into sentences: a trace written as one or two
// paragraphs (as many MATH solutions are) has no useful line structure.
const MinLineSteps = 3

// Split cuts a reasoning trace into steps, using the coarsest structure the
// text has:
//
//  1. Lines are the unit. Blank lines separate steps and belong to none.
//     A multi-line display-math block ($$…$$, \[…\], \begin{env}…\end{env})
//     or fenced code block (```…```) is kept whole as one unit, together
//     with any text on its opening line.
//  2. If two or more units start with a "Step k" marker (also "**Step k:**",
//     "### Step k", "Step k."), each marker starts a step that runs up to the
//     next marker; units before the first marker are steps of their own, and
//     a final-answer line ("The answer is …", "#### 18") after the last
//     marker is kept as a step of its own.
//  3. Otherwise every unit is a step, except that a markdown heading or a
//     wholly bold line ("**Solution**") joins the unit after it. Numbered
//     and bulleted list items are one step per line.
//  4. If that gives fewer than MinLineSteps steps and the text has no
//     "Step k" markers (which declare the steps explicitly), prose units are
//     split further into sentences (never inside $…$, \(…\), braces, numbers like
//     "3.5", or after abbreviations like "e.g.").
//
// GSM8K calculator annotations (<<48/2=24>>) are ordinary text. Split never
// fails; text with no non-space character has no steps.
func Split(text string) []Step {
	rs := regions(text)
	units := splitUnits(text, rs)
	var steps []unit
	marked := countMarkers(text, units) >= 2
	if marked {
		steps = groupByMarker(text, units)
	} else {
		steps = joinHeadings(text, units)
	}
	if !marked && len(steps) < MinLineSteps {
		var finer []Step
		for _, s := range steps {
			if s.kind == unitProse {
				finer = append(finer, splitSentences(text, s.Start, s.End, rs)...)
			} else {
				finer = append(finer, s.Step)
			}
		}
		return finer
	}
	out := make([]Step, len(steps))
	for i, s := range steps {
		out[i] = s.Step
	}
	return out
}

type unitKind int

const (
	unitProse unitKind = iota
	unitBlock          // display math or code kept whole
)

type unit struct {
	Step
	kind unitKind
}

func mkStep(text string, start, end int) Step {
	for start < end {
		r, n := utf8.DecodeRuneInString(text[start:])
		if !unicode.IsSpace(r) {
			break
		}
		start += n
	}
	for end > start {
		r, n := utf8.DecodeLastRuneInString(text[:end])
		if !unicode.IsSpace(r) {
			break
		}
		end -= n
	}
	return Step{Start: start, End: end, Text: text[start:end]}
}

// region is a byte range of the text that Split never cuts inside: display
// math, an Asymptote diagram or a fenced code block.
type region struct{ start, end int }

// regions finds the protected regions of text, in order, non-overlapping.
// An opener without a closer protects nothing.
func regions(text string) []region {
	var rs []region
	for i := 0; i < len(text); {
		switch text[i] {
		case '`', '~', '$', '\\', '[':
		default:
			i++
			continue
		}
		end, ok := regionAt(text, i)
		if ok {
			rs = append(rs, region{i, end})
			i = end
			continue
		}
		i++
	}
	return rs
}

// regionAt reports whether a protected region opens at text[i:] and, if so,
// where it ends (exclusive).
func regionAt(text string, i int) (int, bool) {
	rest := text[i:]
	escaped := i > 0 && text[i-1] == '\\'
	switch {
	case (strings.HasPrefix(rest, "```") || strings.HasPrefix(rest, "~~~")) && (i == 0 || text[i-1] == '\n' || strings.TrimSpace(text[strings.LastIndexByte(text[:i], '\n')+1:i]) == ""):
		fence := rest[:3]
		eol := strings.IndexByte(rest, '\n')
		if eol < 0 {
			return 0, false
		}
		for j := eol + 1; j < len(rest); {
			k := strings.IndexByte(rest[j:], '\n')
			ln := rest[j:]
			if k >= 0 {
				ln = rest[j : j+k]
			}
			if strings.HasPrefix(strings.TrimSpace(ln), fence) {
				return i + j + len(ln), true
			}
			if k < 0 {
				break
			}
			j += k + 1
		}
		return 0, false
	case strings.HasPrefix(rest, "$$") && !escaped:
		if k := strings.Index(rest[2:], "$$"); k >= 0 {
			return i + 2 + k + 2, true
		}
	case strings.HasPrefix(rest, `\[`) && !escaped:
		if k := strings.Index(rest[2:], `\]`); k >= 0 {
			return i + 2 + k + 2, true
		}
	case strings.HasPrefix(rest, "[asy]"):
		if k := strings.Index(rest, "[/asy]"); k >= 0 {
			return i + k + len("[/asy]"), true
		}
	case strings.HasPrefix(rest, `\begin{`) && !escaped:
		m := beginEnv.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return 0, false
		}
		env := rest[m[2]:m[3]]
		open, closeTag := `\begin{`+env+`}`, `\end{`+env+`}`
		depth := 0
		for j := 0; j < len(rest); {
			o := strings.Index(rest[j:], open)
			c := strings.Index(rest[j:], closeTag)
			if c < 0 {
				return 0, false
			}
			if o >= 0 && o < c {
				depth++
				j += o + len(open)
				continue
			}
			depth--
			j += c + len(closeTag)
			if depth == 0 {
				return i + j, true
			}
		}
	}
	return 0, false
}

var beginEnv = regexp.MustCompile(`^\\begin\{([^}]+)\}`)

// splitUnits cuts text at newlines outside protected regions; blank pieces
// are dropped. A unit that is one protected region and nothing else is a
// block, never split into sentences.
func splitUnits(text string, rs []region) []unit {
	var us []unit
	start := 0
	ri := 0
	emit := func(end int) {
		st := mkStep(text, start, end)
		if st.Start < st.End {
			kind := unitProse
			// The first region ending after the unit starts is the only
			// one that can hold it.
			if j := sort.Search(len(rs), func(j int) bool { return rs[j].end > st.Start }); j < len(rs) && rs[j].start <= st.Start && st.End <= rs[j].end {
				kind = unitBlock
			}
			us = append(us, unit{st, kind})
		}
	}
	for i := 0; i < len(text); i++ {
		for ri < len(rs) && rs[ri].end <= i {
			ri++
		}
		if ri < len(rs) && rs[ri].start <= i {
			i = rs[ri].end - 1
			continue
		}
		if text[i] == '\n' {
			emit(i)
			start = i + 1
		}
	}
	emit(len(text))
	return us
}

var stepMarker = regexp.MustCompile(`^[\s#>*_]*(?i:step)\s*\d+\s*[:.)*_\-—]`)

func isMarker(s string) bool { return stepMarker.MatchString(s) }

func countMarkers(text string, us []unit) int {
	n := 0
	for _, u := range us {
		if isMarker(u.Text) {
			n++
		}
	}
	return n
}

func groupByMarker(text string, us []unit) []unit {
	var out []unit
	open := false // the last step in out is a marker section still taking units
	for _, u := range us {
		switch {
		case isMarker(u.Text):
			out = append(out, unit{u.Step, unitProse})
			open = true
		case open && !HasFinalAnswer(u.Text):
			last := &out[len(out)-1]
			last.Step = mkStep(text, last.Start, u.End)
		default:
			out = append(out, u)
			open = false
		}
	}
	return out
}

var heading = regexp.MustCompile(`^\s*(#{1,6}\s|\*\*[^*]+\*\*:?\s*$|__[^_]+__:?\s*$)`)

func joinHeadings(text string, us []unit) []unit {
	var out []unit
	for i := 0; i < len(us); i++ {
		u := us[i]
		if heading.MatchString(u.Text) && i+1 < len(us) && !HasFinalAnswer(u.Text) {
			next := us[i+1]
			out = append(out, unit{mkStep(text, u.Start, next.End), next.kind})
			i++
			continue
		}
		out = append(out, u)
	}
	return out
}

// abbreviations after which a period does not end a sentence.
var abbreviations = map[string]bool{
	"e.g": true, "i.e": true, "etc": true, "vs": true, "mr": true, "mrs": true,
	"ms": true, "dr": true, "st": true, "no": true, "approx": true, "cf": true,
	"fig": true, "eq": true, "ex": true,
}

// splitSentences splits text[start:end] at sentence ends: '.', '!' or '?'
// (optionally followed by closing quotes or brackets) then whitespace and a
// word not in lower case, at nesting depth zero outside inline math, not
// after an abbreviation or a lone list label; or after a protected region
// (display math) whose content ends with a period, when a capitalised word
// follows. Protected regions rs are never cut.
func splitSentences(text string, start, end int, rs []region) []Step {
	var out []Step
	inDollar, dollarAt := false, 0
	depth := 0 // braces, parentheses, brackets, \( \)
	segStart := start
	ri := 0
	cut := func(at int) {
		if st := mkStep(text, segStart, at); st.Start < st.End {
			out = append(out, st)
		}
		segStart = at
	}
	// next returns the offset of the first non-blank byte at or after j and
	// whether a sentence may start there.
	next := func(j int) (int, bool) {
		k := j
		for k < end && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n') {
			k++
		}
		if k >= end {
			return k, false
		}
		r, _ := utf8.DecodeRuneInString(text[k:])
		return k, !unicode.IsLower(r)
	}
	for i := start; i < end; i++ {
		for ri < len(rs) && rs[ri].end <= i {
			ri++
		}
		if ri < len(rs) && rs[ri].start <= i {
			r := rs[ri]
			i = r.end - 1
			if inDollar || depth > 0 || r.end >= end {
				continue
			}
			if endsWithPeriod(text[r.start:r.end]) {
				if k, ok := next(r.end); ok {
					cut(r.end)
					segStart = k
				}
			}
			continue
		}
		c := text[i]
		switch c {
		case '\\':
			if i+1 < end {
				switch text[i+1] {
				case '(', '[':
					depth++
				case ')', ']':
					if depth > 0 {
						depth--
					}
				}
				i++ // skip the escaped byte
			}
			continue
		case '$':
			if !inDollar {
				inDollar, dollarAt = true, i
				continue
			}
			inDollar = false
			// "$x = 0.$ It …": the sentence ends inside the math.
			if depth == 0 && i+1 < end && (text[i+1] == ' ' || text[i+1] == '\n') &&
				strings.HasSuffix(strings.TrimSpace(text[dollarAt+1:i]), ".") {
				if k, ok := next(i + 1); ok {
					cut(i + 1)
					segStart = k
					i = k - 1
				}
			}
			continue
		case '{', '(', '[':
			depth++
			continue
		case '}', ')', ']':
			if depth > 0 {
				depth--
			}
			continue
		case '.', '!', '?':
		default:
			continue
		}
		if inDollar && depth == 0 && text[dollarAt+1] >= '0' && text[dollarAt+1] <= '9' &&
			i+1 < end && (text[i+1] == ' ' || text[i+1] == '\n') {
			// "$5. Then …": a currency sign, not math; no sentence ends
			// inside inline math, so take the period at its word.
			inDollar = false
		}
		if inDollar || depth > 0 {
			continue
		}
		j := i + 1
		for j < end && (text[j] == '"' || text[j] == '\'' || text[j] == ')' || text[j] == '.' || text[j] == '!' || text[j] == '?') {
			j++
		}
		if j >= end || (text[j] != ' ' && text[j] != '\t' && text[j] != '\n') {
			continue
		}
		if c == '.' && !sentenceEndPeriod(text[segStart:i]) {
			continue
		}
		k, ok := next(j)
		if !ok {
			continue
		}
		cut(j)
		segStart = k
		i = k - 1
	}
	cut(end)
	return out
}

// endsWithPeriod reports whether a protected region's content, without its
// closing delimiter, ends with a period.
func endsWithPeriod(r string) bool {
	for _, c := range []string{"$$", `\]`, "[/asy]", "```", "~~~"} {
		r = strings.TrimSuffix(r, c)
	}
	if strings.HasSuffix(r, "}") {
		if i := strings.LastIndex(r, `\end{`); i >= 0 {
			r = r[:i]
		}
	}
	r = strings.TrimRight(r, " \t\n\\")
	return strings.HasSuffix(r, ".")
}

// sentenceEndPeriod reports whether a '.' after before ends a sentence.
func sentenceEndPeriod(before string) bool {
	w := before
	if i := strings.LastIndexAny(w, " \t("); i >= 0 {
		w = w[i+1:]
	}
	if w == "" {
		return true
	}
	if abbreviations[strings.ToLower(w)] {
		return false
	}
	// A lone number or letter at the start of a segment is a list label
	// ("1.", "a."), not a sentence.
	if strings.TrimSpace(before) == w && (isDigits(w) || utf8.RuneCountInString(w) == 1) {
		return false
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// finalAnswer matches the statements that give away a final answer.
var finalAnswer = regexp.MustCompile(`\\boxed|\\fbox|####|(?i:the\s+(?:final\s+)?answer\s+(?:is|=|:)|final\s+answer)|(?m:^[\s#*_>]*(?:A|(?i:answer))\s*(?:\*\*)?\s*:)|(?im:^[\s#*_>]*answer[\s*_]*$)`)

// HasFinalAnswer reports whether s contains a final-answer statement:
// \boxed or \fbox, "####", "The answer is", "final answer", or a line of the
// form "A: …", "Answer: …" or "# Answer". A Prefix must never contain one.
func HasFinalAnswer(s string) bool { return mayHaveFinalAnswer(s) && finalAnswer.MatchString(s) }

// mayHaveFinalAnswer is a cheap filter: false means finalAnswer cannot
// match s.
func mayHaveFinalAnswer(s string) bool {
	return strings.Contains(s, `\boxed`) || strings.Contains(s, `\fbox`) ||
		strings.Contains(s, "####") || strings.Contains(s, "A:") || containsFold(s, "answer")
}

// containsFold reports whether s contains the lower-case ASCII word w in
// any letter case.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i]|0x20 != w[0] {
			continue
		}
		j := 1
		for j < len(w) && s[i+j]|0x20 == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

// FinalAnswerIndex returns the byte offset of the first final-answer
// statement in s, or -1.
func FinalAnswerIndex(s string) int {
	if !mayHaveFinalAnswer(s) {
		return -1
	}
	loc := finalAnswer.FindStringIndex(s)
	if loc == nil {
		return -1
	}
	return loc[0]
}
