package perturb

import (
	"regexp"
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
//  4. If that gives fewer than MinLineSteps steps, prose units are split
//     further into sentences (never inside $…$, \(…\), braces, numbers like
//     "3.5", or after abbreviations like "e.g.").
//
// GSM8K calculator annotations (<<48/2=24>>) are ordinary text. Split never
// fails; text with no non-space character has no steps.
func Split(text string) []Step {
	units := splitUnits(text)
	var steps []unit
	if countMarkers(text, units) >= 2 {
		steps = groupByMarker(text, units)
	} else {
		steps = joinHeadings(text, units)
	}
	if len(steps) < MinLineSteps {
		var finer []Step
		for _, s := range steps {
			if s.kind == unitProse {
				finer = append(finer, splitSentences(text, s.Start, s.End)...)
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

// line is a line of the text without its "\n".
type line struct{ start, end int }

func lines(text string) []line {
	var ls []line
	start := 0
	for start <= len(text) {
		i := strings.IndexByte(text[start:], '\n')
		if i < 0 {
			ls = append(ls, line{start, len(text)})
			break
		}
		ls = append(ls, line{start, start + i})
		start += i + 1
	}
	return ls
}

var beginEnv = regexp.MustCompile(`\\begin\{([^}]+)\}`)

// opener reports whether s opens a multi-line block that it does not close,
// and returns a function recognising the closing line.
func opener(s string) (func(string) bool, bool) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
		fence := t[:3]
		return func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), fence) }, true
	}
	if strings.Count(s, "$$")%2 == 1 {
		return func(l string) bool { return strings.Count(l, "$$")%2 == 1 }, true
	}
	if o, c := strings.Count(s, `\[`), strings.Count(s, `\]`); o > c {
		return func(l string) bool { return strings.Contains(l, `\]`) }, true
	}
	for _, m := range beginEnv.FindAllStringSubmatch(s, -1) {
		env := m[1]
		if strings.Count(s, `\begin{`+env+`}`) > strings.Count(s, `\end{`+env+`}`) {
			end := `\end{` + env + `}`
			return func(l string) bool { return strings.Contains(l, end) }, true
		}
	}
	return nil, false
}

// splitUnits groups lines into units: single non-blank lines, or whole
// multi-line blocks.
func splitUnits(text string) []unit {
	ls := lines(text)
	var us []unit
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		s := text[l.start:l.end]
		if strings.TrimSpace(s) == "" {
			continue
		}
		if closes, ok := opener(s); ok {
			j := i + 1
			for j < len(ls) && !closes(text[ls[j].start:ls[j].end]) {
				j++
			}
			if j < len(ls) { // closed: keep lines i..j whole
				us = append(us, unit{mkStep(text, l.start, ls[j].end), unitBlock})
				i = j
				continue
			}
		}
		kind := unitProse
		if isDisplayOnly(s) {
			kind = unitBlock
		}
		us = append(us, unit{mkStep(text, l.start, l.end), kind})
	}
	return us
}

func isDisplayOnly(s string) bool {
	t := strings.TrimSpace(s)
	return (strings.HasPrefix(t, "$$") && strings.HasSuffix(t, "$$")) ||
		(strings.HasPrefix(t, `\[`) && strings.HasSuffix(t, `\]`)) ||
		strings.HasPrefix(t, `\begin{`) || strings.HasPrefix(t, "```")
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
// (optionally followed by closing quotes or brackets) then whitespace, at
// nesting depth zero outside math, not after an abbreviation or a lone
// list number.
func splitSentences(text string, start, end int) []Step {
	var out []Step
	s := text[start:end]
	inDollar := false
	depth := 0 // braces, parentheses, brackets, \( \)
	segStart := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) {
				switch s[i+1] {
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
			if !(i+1 < len(s) && s[i+1] == '$') {
				inDollar = !inDollar
			} else {
				i++
				inDollar = !inDollar
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
		if inDollar || depth > 0 {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == '"' || s[j] == '\'' || s[j] == ')' || s[j] == '.' || s[j] == '!' || s[j] == '?') {
			j++
		}
		if j >= len(s) || (s[j] != ' ' && s[j] != '\t') {
			continue
		}
		if c == '.' && !sentenceEndPeriod(s[segStart:i]) {
			continue
		}
		k := j
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if k < len(s) {
			r, _ := utf8.DecodeRuneInString(s[k:])
			if unicode.IsLower(r) {
				continue // "… approx. three", "x. so" — likely not a sentence end
			}
		}
		if st := mkStep(text, start+segStart, start+j); st.Start < st.End {
			out = append(out, st)
		}
		segStart = k
		i = k - 1
	}
	if st := mkStep(text, start+segStart, end); st.Start < st.End {
		out = append(out, st)
	}
	return out
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
func HasFinalAnswer(s string) bool { return finalAnswer.MatchString(s) }

// FinalAnswerIndex returns the byte offset of the first final-answer
// statement in s, or -1.
func FinalAnswerIndex(s string) int {
	loc := finalAnswer.FindStringIndex(s)
	if loc == nil {
		return -1
	}
	return loc[0]
}
