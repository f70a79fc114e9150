package verify

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonKeys are the JSON object keys whose value is taken as the answer when
// a response ends in (or contains) a JSON object, in priority order.
var jsonKeys = []string{`"final_answer"`, `"final answer"`, `"answer"`}

// jsonState says what jsonAnswer found.
type jsonState uint8

const (
	jsonNone  jsonState = iota // no JSON answer field
	jsonFound                  // a field with an answer
	jsonBlank                  // only empty or placeholder answer fields ("", "___", objects)
)

// jsonAnswer finds the value of the last "answer" (or "final_answer") key of
// a JSON object in s that holds an answer. The value is JSON-unescaped
// leniently (see jsonUnescape). An example quoted from the instructions
// ("e.g., `"answer": "42"`") is not an answer (see keyPosition). Blank
// fields ("", "___") and objects are skipped, so an answer followed by an
// invented new question with an empty template still counts; when only
// blank fields exist the state is jsonBlank: the model declared no answer.
//
// A box written after the JSON object (outside it) is a later, deliberate
// answer, so the field is not used then.
func jsonAnswer(s string) (string, jsonState) {
	if !strings.Contains(s, "\":") && !strings.Contains(s, "\" :") {
		return "", jsonNone
	}
	blank := false
	for _, key := range jsonKeys {
		end := len(s)
		for tries := 0; tries < 8; tries++ {
			i := lastIndexFold(s[:end], key)
			if i < 0 {
				break
			}
			end = i
			if strings.LastIndexByte(s[:i], '{') < 0 {
				break // not inside a JSON object
			}
			if !keyPosition(s[:i]) {
				continue
			}
			v, n, ok := jsonValueAt(s[i+len(key):])
			if !ok {
				if strings.HasPrefix(strings.TrimLeft(s[i+len(key):], " \t\n:"), "{") {
					blank = true // an object, not an answer
				}
				continue
			}
			after := s[i+len(key)+n:]
			after = after[objectEnd(after):] // only text outside the JSON object counts
			if strings.Contains(after, "\\boxed") {
				return "", jsonNone
			}
			if a, ok := statedAfter(after); ok {
				return a, jsonFound
			}
			if a, ok := valueAnswer(v); ok {
				return a, jsonFound
			}
			// blank: an earlier field may hold the answer, with the blank a
			// template the model went on to echo or invent
			blank = true
		}
	}
	if blank {
		return "", jsonBlank
	}
	return "", jsonNone
}

// statedAfter reads a "final answer is X" written after the JSON object when
// X is a value (it starts like a number or formula, or is `"answer": "X"`):
// "The final answer is: `"answer": "306"`", "Thus, the final answer is 720
// minutes." A sentence such as "The final answer is that there are 2 values
// of x for which f(f(x)) = 3" is not a value and leaves the field in charge.
func statedAfter(after string) (string, bool) {
	i := lastIndexFold(after, "final answer is")
	if i < 0 {
		return "", false
	}
	seg := strings.TrimLeft(after[i+len("final answer is"):], " \t:*`")
	if strings.HasPrefix(seg, `"answer"`) {
		seg = strings.TrimLeft(seg[len(`"answer"`):], " :")
	}
	seg = strings.TrimLeft(seg, `"' `)
	if seg == "" || !(seg[0] >= '0' && seg[0] <= '9' || seg[0] == '-' || seg[0] == '$' || seg[0] == '\\') {
		return "", false
	}
	a, ok := segmentAnswer(seg)
	if !ok || !parses(a) || strings.Index(seg, a) > 2 {
		return "", false // "452 minutes, which is 7 hours and 32 minutes" is not a statement of 32
	}
	return strings.TrimRight(a, "`\" "), true
}

// keyPosition reports whether a key at the end of before is an answer
// field rather than an example quoted from the instructions ("e.g.,
// `"answer": "42"`"). Malformed JSON (a missing comma) and inline answers
// ("Answer: `"answer": "15"`") still count.
func keyPosition(before string) bool {
	tail := before
	if len(tail) > 24 {
		tail = tail[len(tail)-24:]
	}
	low := strings.ToLower(tail)
	return !strings.Contains(low, "e.g.") && !strings.Contains(low, "example") && !strings.Contains(low, "such as") && !strings.Contains(low, "for instance")
}

// objectEnd returns the offset just past the brace that closes the JSON
// object s is inside (strings skipped), or 0 when it is not closed.
func objectEnd(s string) int {
	depth := 1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// jsonValueAt reads `: value` at the start of s: a JSON string (lenient about
// invalid escapes and a missing closing quote) or a bare token up to the next
// comma, brace or newline.
func jsonValueAt(s string) (string, int, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i >= len(s) || s[i] != ':' {
		return "", 0, false
	}
	i++
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	if i >= len(s) {
		return "", 0, false
	}
	if s[i] == '"' {
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j > len(s) {
			j = len(s)
		}
		return jsonUnescape(s[i+1 : j]), min(j+1, len(s)), true
	}
	j := i
	depth := 0
	for j < len(s) {
		c := s[j]
		if c == '[' {
			depth++
		} else if c == ']' {
			depth--
		}
		if depth <= 0 && (c == ',' || c == '}' || c == '\n') {
			break
		}
		j++
	}
	v := strings.TrimSpace(s[i:j])
	if v == "null" || v == "" || v[0] == '{' {
		return "", 0, false
	}
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		// a JSON array of answers: ["1", "2"] -> 1, 2
		v = strings.NewReplacer(`"`, "").Replace(v[1 : len(v)-1])
	}
	return v, j, true
}

// valueAnswer turns the text of an answer field into the answer: a box or
// marker inside it wins; placeholders are not answers.
func valueAnswer(v string) (string, bool) {
	v = strings.TrimSpace(stripEmphasis(strings.TrimSpace(v)))
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		v = strings.TrimSpace(v[1 : len(v)-1]) // "answer": "\"5\""
	}
	v = trimStrayQuote(v)
	if len(v) > 2 && v[0] == '_' && v[len(v)-1] == '_' {
		v = strings.Trim(v, "_ ") // "___3___": the answer typed into the template's blank
	}
	switch strings.Trim(v, "_.-? ") {
	case "", "N/A", "n/a", "none", "None", "null", "...":
		return "", false
	}
	if a, ok := lastBoxed(v); ok {
		return a, true
	}
	if a, ok := finalAnswer(v); ok {
		return a, true
	}
	if a, ok := mathSpansOnly(v); ok {
		return a, true
	}
	if k := strings.Index(v, " ("); k > 0 && strings.HasSuffix(v, ")") && strings.ContainsAny(v[:k], "0123456789") &&
		!strings.ContainsAny(v[:k], "()[]{}\\") {
		v = v[:k] // "6 pizzas (3 cheese and 3 pepperoni)": the explanation in parentheses is not the answer
	}
	if strings.HasPrefix(v, "{") && strings.Contains(v, ":") {
		if n, ok := soleNumber(v); ok {
			return n, true // `{"original price": $26}` inside the string
		}
	}
	if looksLikeAnswer(v) {
		return v, true
	}
	// prose from here on: "Julie had $300 left." (which would "parse" as a
	// product of letters once unit words are dropped)
	if a, ok := answerIs(v); ok {
		return a, true
	}
	if n, ok := soleNumber(v); ok {
		return n, true // "Nate needs 159 pounds of hay." -> 159
	}
	if k := strings.LastIndexByte(v, '='); k >= 0 {
		// "(5 + 3 + 0.25) * 16 = 8.25 * 16 = 132 tablespoons" -> the last value
		if t := strings.TrimSpace(v[k+1:]); t != "" && looksLikeAnswer(t) {
			return t, true
		} else if n, ok := soleNumber(t); ok {
			return n, true // "… = 9 rows of flowers"
		}
	}
	return v, true
}

// trimStrayQuote drops a lone trailing quote: `67"` (JSON "67\"").
func trimStrayQuote(v string) string {
	if strings.Count(v, `"`) == 1 && strings.HasSuffix(v, `"`) {
		return strings.TrimSpace(v[:len(v)-1])
	}
	return v
}

// soleNumber returns the only number written in a prose answer ("Jack has
// $120 now."); false when there are none or several different ones.
func soleNumber(v string) (string, bool) {
	found := ""
	for i := 0; i < len(v); {
		c := v[i]
		if c < '0' || c > '9' {
			i++
			continue
		}
		if i > 0 && (v[i-1] == '^' || v[i-1] == '_' || isWordChar(rune(v[i-1]))) {
			return "", false // x^2, a_1, x2: math, not a stated number
		}
		j := i
		for j < len(v) && (v[j] >= '0' && v[j] <= '9' || (v[j] == ',' || v[j] == '.') && j+1 < len(v) && v[j+1] >= '0' && v[j+1] <= '9') {
			j++
		}
		n := v[i:j]
		if i > 0 && v[i-1] == '-' && (i == 1 || v[i-2] == ' ' || v[i-2] == '$') {
			n = "-" + n
		}
		if found != "" && found != n {
			return "", false
		}
		found = n
		i = j
	}
	return found, found != ""
}

// latexNames are LaTeX command names that start with a letter JSON treats as
// an escape (\b \f \n \r \t \u): "\frac" inside a JSON string written by a
// model means the command, not a form feed.
var latexNames = map[string]bool{
	"frac": true, "dfrac": true, "tfrac": true, "forall": true, "flat": true, "fbox": true,
	"times": true, "text": true, "textbf": true, "textit": true, "textrm": true, "textnormal": true, "theta": true,
	"tau": true, "tan": true, "tanh": true, "to": true, "top": true, "triangle": true, "therefore": true,
	"tfrac12": true, "tilde": true, "tbinom": true, "textstyle": true, "textup": true,
	"neq": true, "ne": true, "nu": true, "nabla": true, "not": true, "ni": true, "neg": true, "nmid": true,
	"nleq": true, "ngeq": true, "notin": true, "nearrow": true, "newline": true,
	"right": true, "rho": true, "rangle": true, "rceil": true, "rfloor": true, "rvert": true, "rbrace": true,
	"rbrack": true, "rm": true, "rightarrow": true, "Rightarrow": true, "Re": true,
	"beta": true, "binom": true, "boxed": true, "bar": true, "begin": true, "bmatrix": true, "big": true,
	"bigl": true, "bigr": true, "Big": true, "bot": true, "bmod": true, "bullet": true, "bf": true,
	"backslash": true, "bigcup": true, "bigcap": true, "boldsymbol": true, "bigg": true, "biggl": true, "biggr": true,
	"underline": true, "uparrow": true, "upsilon": true, "cup": true,
}

// jsonUnescape decodes the escapes of a JSON string body leniently: \\ \"
// \/ and \uXXXX always; \n \t \r \f \b only when they do not begin a LaTeX
// command (models often write "\frac" or "\times" with one backslash); any
// other backslash is kept, so "\sqrt" stays a command.
func jsonUnescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		d := s[i+1]
		switch d {
		case '\\', '"', '/':
			b.WriteByte(d)
			i++
		case 'n', 't', 'r', 'f', 'b', 'u':
			j := i + 1
			for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			if latexNames[s[i+1:j]] {
				b.WriteByte('\\')
				continue
			}
			if d == 'u' {
				if i+6 <= len(s) {
					if r, err := strconv.ParseUint(s[i+2:i+6], 16, 32); err == nil && utf8.ValidRune(rune(r)) {
						b.WriteRune(rune(r))
						i += 5
						continue
					}
				}
				b.WriteByte('\\')
				continue
			}
			b.WriteByte(map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', 'f': ' ', 'b': ' '}[d])
			i++
		default:
			b.WriteByte('\\')
		}
	}
	return b.String()
}

// looksJSON reports whether s holds a JSON object with string values, so its
// escaped text should be unescaped before the other rules read it.
func looksJSON(s string) bool {
	i := strings.IndexByte(s, '{')
	return i >= 0 && (strings.Contains(s[i:], `": "`) || strings.Contains(s[i:], `":"`)) && strings.Contains(s[i:], `\n`)
}

// answerSection finds a final-answer heading — "# Answer" (PRM800K), "##
// Final Answer", "**Final Answer**", indented or not, alone on its line —
// and reads the answer that follows it: a box inside the section, else the
// first paragraph when it reads as an answer.
func answerSection(s string) (string, bool) {
	if strings.IndexByte(s, '#') < 0 && !strings.Contains(s, "**") && !strings.Contains(s, "__") {
		return "", false
	}
	end := len(s)
	for tries := 0; tries < 6; tries++ {
		i := lastIndexFold(s[:end], "answer")
		if i < 0 {
			return "", false
		}
		end = i
		ls := strings.LastIndexByte(s[:i], '\n') + 1
		le := strings.IndexByte(s[i:], '\n')
		if le < 0 {
			le = len(s)
		} else {
			le += i
		}
		head, rest, ok := sectionHeading(s[ls:i], s[i+len("answer"):le])
		if !ok {
			continue
		}
		content := strings.TrimSpace(rest + s[le:])
		if content == "" {
			return "", false
		}
		if a, ok := lastBoxed(content); ok {
			return a, true
		}
		_ = head
		para := content
		if k := strings.Index(para, "\n\n"); k >= 0 {
			para = para[:k]
		}
		if len(para) > 400 {
			return "", false
		}
		lines := strings.Split(para, "\n")
		for k := range lines {
			lines[k] = strings.TrimSpace(lines[k])
		}
		p := strings.TrimSpace(stripEmphasis(strings.Join(lines, " ")))
		p = strings.TrimRight(p, " ")
		if a, ok := mathSpansOnly(p); ok {
			return a, true
		}
		if a, ok := finalAnswer(p); ok {
			return a, true
		}
		if a, ok := answerIs(p); ok {
			return a, true
		}
		if looksLikeAnswer(p) {
			return strings.TrimRight(p, "."), true
		}
		return "", false
	}
	return "", false
}

// sectionHeading checks that before+"answer"+after is a heading line: "#",
// "##"… or "**" markup, optionally "final", optionally a colon, and nothing
// else (an answer after the colon on the same line is returned as rest).
func sectionHeading(before, after string) (head, rest string, ok bool) {
	b := strings.TrimSpace(before)
	hashes := strings.HasPrefix(b, "#")
	b = strings.TrimLeft(b, "#")
	b = strings.TrimSpace(b)
	bold := strings.HasPrefix(b, "**") || strings.HasPrefix(b, "__")
	b = strings.TrimLeft(b, "*_")
	b = strings.TrimSpace(b)
	if !hashes && !bold {
		return "", "", false
	}
	switch strings.ToLower(b) {
	case "", "final", "the final", "my final":
	default:
		return "", "", false
	}
	a := strings.TrimLeft(after, "sS") // "Answers"
	a = strings.TrimSpace(a)
	a = strings.TrimLeft(a, "*_ ")
	a = strings.TrimPrefix(a, ":")
	a = strings.TrimLeft(a, "*_ ")
	a = strings.TrimSpace(a)
	if bold && !hashes && a != "" {
		return "", "", false // "**Answer:** 5" is the answer-is rule's
	}
	return before, a, true
}

// stripEmphasis removes markdown emphasis (** and __) around an answer:
// "**73**" and "73**" become "73"; "2**3" (a power) is kept.
func stripEmphasis(s string) string {
	if !strings.Contains(s, "**") && !strings.Contains(s, "__") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i+1 < len(s) && (s[i] == '*' && s[i+1] == '*' || s[i] == '_' && s[i+1] == '_') {
			left := i > 0 && isAlnum(s[i-1])
			right := i+2 < len(s) && isAlnum(s[i+2])
			if !(left && right) {
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == ')'
}
