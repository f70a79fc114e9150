package verify

import (
	"strings"
)

// textWrappers are commands whose argument is text or formatting only.
var textWrappers = []string{"\\text", "\\textnormal", "\\textbf", "\\textit", "\\textrm", "\\mbox", "\\hbox", "\\mathrm", "\\mathbf", "\\mathit", "\\mathsf", "\\boldsymbol", "\\operatorname", "\\boxed", "\\fbox", "\\mathbb", "\\emph"}

var simpleRepl = strings.NewReplacer(
	"\\left", "", "\\right", "", "\\bigl", "", "\\bigr", "", "\\Bigl", "", "\\Bigr", "", "\\big", "", "\\Big", "",
	"\\displaystyle", "", "\\dfrac", "\\frac", "\\tfrac", "\\frac", "\\cfrac", "\\frac",
	"\\dbinom", "\\binom", "\\tbinom", "\\binom",
	"\\\\", "\\\\", ",\\!", "", "{,}", "", "{, }", "", "\\!", "", "\\,", " ", "\\;", " ", "\\:", " ", "\\>", " ", "\\ ", " ", "~", " ",
	"\\qquad", " ", "\\quad", " ",
	"^{\\circ}", "", "^\\circ", "", "^{\\circ }", "", "\\circ", "", "°", "", "\\degree", "",
	"\\%", "", "%", "", "\\$", "", "$", "", "€", "", "£", "", "¥", "",
	"\\lbrace", "\\{", "\\rbrace", "\\}", "\\langle", "(", "\\rangle", ")",
	"\\lt", "<", "\\gt", ">", "\\leqslant", "\\le", "\\geqslant", "\\ge",
	"\\dots", "", "\\ldots", "", "\\cdots", "",
	"\\tfrac", "\\frac", "\\mathrm{e}", "e", "\\bmatrix", "bmatrix",
	"\n", " ", "\t", " ", "\f", " ",
)

// unitWords are dropped from numeric answers ("10 cm", "28 percent").
var unitWords = map[string]bool{
	"percent": true, "percentage": true, "pct": true, "degrees": true, "degree": true, "deg": true,
	"dollars": true, "dollar": true, "cents": true, "cent": true, "usd": true, "yuan": true, "euros": true, "euro": true,
	"units": true, "unit": true, "cm": true, "mm": true, "km": true, "m": false, "meters": true, "meter": true,
	"inches": true, "inch": true, "feet": true, "foot": true, "ft": true, "miles": true, "mile": true, "mph": true,
	"hours": true, "hour": true, "minutes": true, "minute": true, "seconds": true, "second": true, "days": true, "day": true,
	"years": true, "year": true, "sq": true, "square": true, "cubic": true, "kg": true, "grams": true, "gram": true,
	"pounds": true, "pound": true, "ounces": true, "liters": true, "gallons": true, "people": true, "students": true,
	"ways": true, "points": true, "times": false, "cups": true, "boxes": true, "items": true, "apples": true,
	"eggs": true, "bolts": true, "dozen": false, "mm2": true, "cm2": true, "m2": true, "hrs": true, "min": true, "sec": false,
}

// normalize turns an extracted answer into a canonical LaTeX-ish string the
// parser understands: delimiters, sizing, spacing, text wrappers, units,
// degrees, currency, percent and thousands separators are removed.
func normalize(s string) string {
	s = strings.TrimSpace(s)
	s = collapseBraces(s)
	if len(s) > maxAnswerLen {
		return s
	}
	s = stripDelims(s)
	s = stripLayout(s)
	s = scriptDigits(s)
	s = undoubleBackslashes(s)
	s = unwrapText(s)
	s = simpleRepl.Replace(s)
	s = stripOrdinals(s)
	s = thinSpaceThousands(s)
	s = exprThousands(s)
	s = splitGluedConjunctions(s)
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, ".;, ")
	s = strings.TrimLeft(s, ":")
	s = stripUnits(s)
	s = stripLabel(s)
	return strings.TrimSpace(s)
}

func stripDelims(s string) string {
	for range 4 {
		t := strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(t, "$$") && strings.HasSuffix(t, "$$") && len(t) >= 4:
			t = t[2 : len(t)-2]
		case strings.HasPrefix(t, "$") && strings.HasSuffix(t, "$") && len(t) >= 2:
			t = t[1 : len(t)-1]
		case strings.HasPrefix(t, "\\(") && strings.HasSuffix(t, "\\)"):
			t = t[2 : len(t)-2]
		case strings.HasPrefix(t, "\\[") && strings.HasSuffix(t, "\\]"):
			t = t[2 : len(t)-2]
		}
		if t == s {
			return t
		}
		s = t
	}
	return s
}

// unwrapText replaces \text{X} and friends by X (or by "," for "and"/"or").
func unwrapText(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			i++
			continue
		}
		matched := false
		for _, w := range textWrappers {
			if !strings.HasPrefix(s[i:], w) {
				continue
			}
			j := i + len(w)
			if j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				continue // a longer command name
			}
			k := j
			for k < len(s) && s[k] == ' ' {
				k++
			}
			if k >= len(s) || s[k] != '{' {
				continue
			}
			end := matchBrace(s, k)
			inner := s[k+1 : end]
			isText := w != "\\boxed" && w != "\\fbox" && w != "\\mathbf" && w != "\\boldsymbol"
			if isText {
				trimmed := strings.ToLower(strings.TrimSpace(inner))
				if trimmed == "and" || trimmed == "or" || trimmed == "," {
					b.WriteString(", ")
				} else {
					b.WriteString(" ")
					b.WriteString(unwrapText(inner))
					b.WriteString(" ")
				}
			} else {
				b.WriteString(unwrapText(inner))
			}
			if end < len(s) {
				i = end + 1
			} else {
				i = end
			}
			matched = true
			break
		}
		if !matched {
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// matchBrace returns the index of the brace closing the one at open, or
// len(s) when unbalanced.
func matchBrace(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}

// thinSpaceThousands removes spaces used as thousands separators when the
// whole answer is a number such as "1 000 000".
func thinSpaceThousands(s string) string {
	t := strings.TrimSpace(s)
	if !strings.Contains(t, " ") {
		return s
	}
	groups := strings.Split(t, " ")
	for i, g := range groups {
		if i == len(groups)-1 {
			if k := strings.IndexByte(g, '.'); k >= 0 {
				g = g[:k]
			}
		}
		if !allDigits(g) || (i > 0 && len(g) != 3) || (i == 0 && (len(g) > 3 || len(g) == 0)) {
			return s
		}
	}
	return strings.ReplaceAll(t, " ", "")
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// stripUnits removes unit words from an answer that contains a digit:
// "10 cm^2" → "10", "5.4 cents" → "5.4".
func stripUnits(s string) string {
	hasDigit := strings.ContainsAny(s, "0123456789")
	if !hasDigit {
		return s
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '\\' { // copy command names verbatim
			j := i + 1
			for j < len(s) && isWordChar(rune(s[j])) {
				j++
			}
			if j == i+1 && j < len(s) {
				j++
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		if isWordChar(rune(c)) && i > 0 && (s[i-1] == '{' || s[i-1] == '_') {
			j := i
			for j < len(s) && isWordChar(rune(s[j])) {
				j++
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		if isWordChar(rune(c)) {
			j := i
			for j < len(s) && isWordChar(rune(s[j])) {
				j++
			}
			w := s[i:j]
			lw := strings.ToLower(w)
			if unitWords[lw] || (len(w) >= 4 && !isFuncWord(lw) && (lw != "and" && lw != "or")) {
				// drop the word and a following ^2 / ^{2}
				k := j
				for k < len(s) && s[k] == ' ' {
					k++
				}
				if k < len(s) && s[k] == '^' {
					if k+1 < len(s) && s[k+1] >= '0' && s[k+1] <= '9' {
						k += 2
					} else if strings.HasPrefix(s[k+1:], "{2}") || strings.HasPrefix(s[k+1:], "{3}") {
						k += 4
					} else {
						k = j
					}
					j = k
				}
				b.WriteByte(' ')
				i = j
				continue
			}
			if lw == "and" || lw == "or" {
				b.WriteString(", ")
				i = j
				continue
			}
			b.WriteString(w)
			i = j
			continue
		}
		b.WriteByte(c)
		i++
	}
	return strings.TrimSpace(b.String())
}

func isFuncWord(w string) bool {
	_, ok := funcs[w]
	return ok || w == "sqrt" || w == "frac" || w == "infty" || w == "pi"
}

// stripLabel removes a leading "x \in" (membership is the set answer).
func stripLabel(s string) string {
	if i := strings.Index(s, "\\in "); i > 0 && i <= 6 {
		head := strings.TrimSpace(s[:i])
		if len(head) <= 3 && isWordChar(rune(head[0])) {
			return s[i+4:]
		}
	}
	if i := strings.Index(s, "\\in["); i > 0 && i <= 6 {
		return s[i+3:]
	}
	if i := strings.Index(s, "\\in("); i > 0 && i <= 6 {
		return s[i+3:]
	}
	return s
}

// knownCmds are LaTeX commands that undoubleBackslashes restores when a
// response doubled their backslash (JSON or Python escaping slips: "\\frac").
var knownCmds = []string{"frac", "dfrac", "tfrac", "left", "right", "sqrt", "le", "leq", "ge", "geq", "pi", "boxed", "text", "cdot", "times", "infty", "pm", "neq", "lt", "gt", "mathrm", "mbox", "in", "cup", "begin", "end"}

func undoubleBackslashes(s string) string {
	if !strings.Contains(s, "\\\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '\\' && (i == 0 || s[i-1] != '\\') && (i+2 >= len(s) || s[i+2] != '\\') {
			rest := s[i+2:]
			for _, c := range knownCmds {
				if strings.HasPrefix(rest, c) && (len(rest) == len(c) || !isWordChar(rune(rest[len(c)]))) {
					if c == "end" || c == "begin" {
						break // a row break before \end is legitimate
					}
					i++ // drop one backslash
					break
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// splitGluedConjunctions separates "1orW(x)=-1" and "2and3" (spaces lost in
// copying) into list items: a digit or closing bracket, then "or"/"and", then
// a letter, digit or opening bracket.
func splitGluedConjunctions(s string) string {
	if !strings.Contains(s, "or") && !strings.Contains(s, "and") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i > 0 && (s[i-1] >= '0' && s[i-1] <= '9' || s[i-1] == ')') {
			for _, w := range []string{"or", "and"} {
				if strings.HasPrefix(s[i:], w) && i+len(w) < len(s) {
					c := s[i+len(w)]
					if isWordChar(rune(c)) || c >= '0' && c <= '9' || c == '(' || c == '\\' {
						b.WriteString(", ")
						i += len(w)
						break
					}
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
