package sim

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// goldSteps splits a reference solution into one-line steps: GSM8K lines
// without their "<<...>>" calculator annotations and "#### N" answer line, or
// the sentences and lines of a MATH solution with display math kept on one
// line, [asy] figures dropped and \boxed{X} unwrapped to X.
func goldSteps(solution string) []string {
	s := strings.ReplaceAll(solution, "\r\n", "\n")
	s = stripAnnotations(s)
	s = dropBetween(s, "[asy]", "[/asy]")
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "####") {
			continue
		}
		lines = append(lines, l)
	}
	s = unbox(strings.Join(lines, "\n"))
	// "our final answer is $8000$" mid-solution would be read as the final
	// answer by verifiers; only the closing line may say so.
	s = finalAnswerPhrase.Replace(s)
	// Without LaTeX commands a '$' is a currency sign (GSM8K), not math.
	latex := strings.Contains(s, `\`)
	raw := splitSentences(s, latex)
	steps := make([]string, 0, len(raw))
	for _, st := range raw {
		st = strings.Join(strings.Fields(st), " ")
		if st == "" {
			continue
		}
		// A lead-in such as "Therefore," belongs with what follows, and a
		// display belongs with the sentence it continues.
		display := latex && (strings.HasPrefix(st, `\[`) || strings.HasPrefix(st, "$$") || strings.HasPrefix(st, `\begin`))
		if n := len(steps); n > 0 && (display || strings.HasSuffix(steps[n-1], ",") || strings.HasSuffix(steps[n-1], ":")) {
			steps[n-1] += " " + st
			continue
		}
		steps = append(steps, st)
	}
	return steps
}

var finalAnswerPhrase = strings.NewReplacer("final answer", "result", "Final answer", "Result", "Final Answer", "Result", "FINAL ANSWER", "RESULT")

// stripAnnotations removes GSM8K calculator annotations "<<48/2=24>>".
func stripAnnotations(s string) string {
	if !strings.Contains(s, "<<") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "<<")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], ">>")
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		s = s[i+j+2:]
	}
	b.WriteString(s)
	return b.String()
}

// dropBetween removes every open...close span (inclusive).
func dropBetween(s, open, close string) string {
	for {
		i := strings.Index(s, open)
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], close)
		if j < 0 {
			return s[:i]
		}
		s = s[:i] + s[i+j+len(close):]
	}
}

// unbox replaces every \boxed{X} (and \fbox{X}) with X, matching braces.
func unbox(s string) string {
	for _, cmd := range []string{`\boxed{`, `\fbox{`} {
		for {
			i := strings.Index(s, cmd)
			if i < 0 {
				break
			}
			start := i + len(cmd)
			depth, end := 1, -1
			for k := start; k < len(s); k++ {
				switch s[k] {
				case '{':
					depth++
				case '}':
					depth--
				}
				if depth == 0 {
					end = k
					break
				}
			}
			if end < 0 {
				s = s[:i] + s[start:]
				continue
			}
			s = s[:i] + s[start:end] + s[end+1:]
		}
	}
	return s
}

// splitSentences splits text into steps at newlines and at sentence ends
// (". " before an upper-case letter) outside math; with latex, newlines
// inside $...$, $$...$$, \[...\], \(...\) and \begin...\end become spaces.
func splitSentences(s string, latex bool) []string {
	var out []string
	var cur strings.Builder
	inDollar, inDouble := false, false
	envDepth := 0 // \[ \( \begin nesting
	flush := func() {
		out = append(out, cur.String())
		cur.Reset()
	}
	inMath := func() bool { return inDollar || inDouble || envDepth > 0 }
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && latex:
			rest := s[i+1:]
			switch {
			case rest[0] == '$':
				cur.WriteString(`\$`)
				i++
				continue
			case rest[0] == '[' || rest[0] == '(':
				envDepth++
			case rest[0] == ']' || rest[0] == ')':
				if envDepth > 0 {
					envDepth--
				}
			case strings.HasPrefix(rest, "begin{"):
				envDepth++
			case strings.HasPrefix(rest, "end{"):
				if envDepth > 0 {
					envDepth--
				}
			}
			cur.WriteByte(c)
			cur.WriteByte(rest[0])
			i++
			continue
		case c == '$' && latex:
			if i+1 < len(s) && s[i+1] == '$' {
				inDouble = !inDouble
				cur.WriteString("$$")
				i++
				// "$$x = 2.$$ Then": a sentence that ends inside display math.
				if !inDouble && i > 1 && s[i-2] == '.' && sentenceFollows(s, i+1) {
					flush()
				}
				continue
			}
			if !inDouble {
				inDollar = !inDollar
				// "$x = 2.$ Then": a sentence that ends inside inline math.
				if !inDollar && i > 0 && s[i-1] == '.' && sentenceFollows(s, i+1) {
					cur.WriteByte(c)
					flush()
					continue
				}
			}
		case c == '\n':
			if inMath() {
				cur.WriteByte(' ')
			} else {
				flush()
			}
			continue
		case (c == '.' || c == '?' || c == '!') && !latex && i+1 < len(s) && s[i+1] == '$' && sentenceFollows(s, i+2):
			// "$a = 1.$ Hence" with '$' as plain text.
			cur.WriteString(s[i : i+2])
			flush()
			i++
			continue
		case (c == '.' || c == '?' || c == '!') && !inMath():
			// Sentence end: punctuation, spaces, then an upper-case letter.
			if sentenceFollows(s, i+1) {
				cur.WriteByte(c)
				flush()
				continue
			}
		}
		cur.WriteByte(c)
	}
	flush()
	return out
}

// numSpan is one number found in a text: s[Start:End], with Value its
// canonical form (thousands separators removed).
type numSpan struct {
	Start, End int
	Value      string
}

// numbers finds the unsigned decimal numbers in s ("80,000", "1.5", "24").
func numbers(s string) []numSpan {
	var out []numSpan
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		// Thousands groups: ",ddd" not followed by another digit.
		for j+3 < len(s)+0 && s[j] == ',' && isDigit(s[j+1]) && isDigit(s[j+2]) && isDigit(s[j+3]) && (j+4 >= len(s) || !isDigit(s[j+4])) {
			j += 4
		}
		// A thousands group cut short by the end of the text ("80,0").
		if j+1 < len(s) && s[j] == ',' && isDigit(s[j+1]) && (j+2 == len(s) || (j+3 == len(s) && isDigit(s[j+2]))) {
			j = len(s)
		}
		if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
			j++
			for j < len(s) && isDigit(s[j]) {
				j++
			}
		}
		out = append(out, numSpan{Start: i, End: j, Value: strings.ReplaceAll(s[i:j], ",", "")})
		i = j
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skeleton is s with every number replaced by '#', lower-cased and with
// whitespace squeezed: two lines with the same skeleton say the same thing
// with possibly different numbers.
func skeleton(s string) string {
	var b strings.Builder
	last := 0
	for _, n := range numbers(s) {
		b.WriteString(s[last:n.Start])
		b.WriteByte('#')
		last = n.End
	}
	b.WriteString(s[last:])
	return strings.ToLower(strings.Join(strings.Fields(b.String()), " "))
}

// bump returns the number v (canonical form) changed by delta ≠ 0 in its
// integer part, keeping any decimals; the result is never v and never
// negative.
func bump(v string, delta int) string {
	intPart, frac, hasFrac := strings.Cut(v, ".")
	n, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || n > 1<<50 {
		// Absurdly long digit runs: change the last digit instead.
		last := intPart[len(intPart)-1]
		d := byte('0' + (int(last-'0')+absInt(delta))%10)
		if d == last {
			d = '0' + (d-'0'+1)%10
		}
		intPart = intPart[:len(intPart)-1] + string(d)
	} else {
		m := n + int64(delta)
		if m < 0 {
			m = n + int64(absInt(delta))
		}
		intPart = strconv.FormatInt(m, 10)
	}
	if hasFrac {
		return intPart + "." + frac
	}
	return intPart
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// replaceNumber returns s with the number at span n replaced by v.
func replaceNumber(s string, n numSpan, v string) string {
	return s[:n.Start] + v + s[n.End:]
}

// substitute replaces, in s, every number whose value is a key of m by its
// mapped value (whole numbers only, never parts of longer ones).
func substitute(s string, m map[string]string) string {
	if len(m) == 0 {
		return s
	}
	ns := numbers(s)
	for k := len(ns) - 1; k >= 0; k-- {
		if v, ok := m[ns[k].Value]; ok {
			s = replaceNumber(s, ns[k], v)
		}
	}
	return s
}

// answerMarks are the separators and signs wrongAnswer drops before it
// reads a number (built once).
var answerMarks = strings.NewReplacer(",", "", "$", "", " ", "", `\!`, "")

// wrongAnswer returns a final answer that differs from gold in value: a
// numeric gold answer plus delta; a \frac{a}{b} with a changed numerator; any
// other answer with a digit run changed; a letter choice moved on; else the
// answer plus one.
func wrongAnswer(gold string, delta int) string {
	g := strings.TrimSpace(gold)
	if delta == 0 {
		delta = 1
	}
	plain := answerMarks.Replace(g)
	neg := strings.HasPrefix(plain, "-")
	if f, err := strconv.ParseFloat(plain, 64); err == nil && !strings.ContainsAny(plain, "eE") && !isInfNaN(f) {
		body := strings.TrimPrefix(plain, "-")
		if strings.HasPrefix(body, ".") {
			body = "0" + body
		}
		if neg {
			// -n + d: move towards (and past) zero by |d|, keeping it nonzero.
			return "-" + bump(body, absInt(delta))
		}
		return bump(body, delta)
	}
	ns := numbers(g)
	if len(ns) > 0 {
		// Change the first number (a fraction's numerator, a coefficient).
		n := ns[0]
		return replaceNumber(g, n, bump(n.Value, absInt(delta)))
	}
	if len(g) == 1 && g[0] >= 'A' && g[0] <= 'E' {
		return string('A' + (g[0]-'A'+1)%5)
	}
	// A choice letter "(C)", also inside \text{...}: move to the next one.
	for i := 0; i+2 < len(g); i++ {
		if g[i] == '(' && g[i+1] >= 'A' && g[i+1] <= 'E' && g[i+2] == ')' {
			return g[:i+1] + string('A'+(g[i+1]-'A'+1)%5) + g[i+2:]
		}
	}
	if g == "" {
		return strconv.Itoa(absInt(delta))
	}
	return g + "+1"
}

func isInfNaN(f float64) bool { return f != f || f > 1e300 || f < -1e300 }

// sentenceFollows reports whether s[i:] is one or more spaces and then an
// upper-case letter: the start of a new sentence.
func sentenceFollows(s string, i int) bool {
	j := i
	for j < len(s) && s[j] == ' ' {
		j++
	}
	if j == i || j >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[j:])
	return unicode.IsUpper(r)
}
