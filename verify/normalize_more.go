package verify

import (
	"strings"
)

// collapseBraces removes redundant brace groups — a group whose whole
// content is another group, {{X}} — in one linear pass, before any length
// or depth limit applies. LaTeX renders {{{2}}} as 2, so a hostile
// \boxed{{{…{2}…}}} with thousands of such braces reads as 2 at the cost of
// one scan. Escaped braces (\{ \}) are not groups and are kept.
func collapseBraces(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	n := len(s)
	match := make([]int32, n) // match[open] = index of its closing brace; 0 = none
	stack := make([]int32, 0, 64)
	for i := 0; i < n; i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			stack = append(stack, int32(i))
		case '}':
			if k := len(stack); k > 0 {
				match[stack[k-1]] = int32(i)
				stack = stack[:k-1]
			}
		}
	}
	drop := make([]bool, n)
	dropped := false
	for i := 0; i+1 < n; i++ {
		if s[i] == '{' && match[i] > 0 && s[i+1] == '{' && match[i+1] == match[i]-1 && (i == 0 || s[i-1] != '\\') {
			drop[i+1], drop[match[i+1]] = true, true
			dropped = true
		}
	}
	if !dropped {
		return s
	}
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < n; i++ {
		if !drop[i] {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// layoutArgCmds are layout commands whose braced argument is dropped with
// them: \hspace{1em}, \phantom{0}.
var layoutArgCmds = []string{"\\hspace*", "\\hspace", "\\vspace*", "\\vspace", "\\phantom", "\\hphantom", "\\vphantom", "\\noalign"}

// layoutCmds are layout commands without an argument that mean nothing for
// the value.
var layoutCmds = []string{"\\hline", "\\strut", "\\mathstrut", "\\medskip", "\\smallskip", "\\bigskip", "\\hfill", "\\enspace",
	"\\thinspace", "\\negthinspace", "\\medspace", "\\negmedspace", "\\thickspace", "\\negthickspace", "\\nonumber", "\\notag"}

// stripLayout removes LaTeX layout that does not change a value: row
// spacing "\\[8pt]" (kept as the row break "\\"), \hline, \hspace{…},
// \phantom{…} and similar spacing commands.
func stripLayout(s string) string {
	if !hasLayout(s) {
		return s
	}
	if strings.Contains(s, "\\\\[") {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if strings.HasPrefix(s[i:], "\\\\[") {
				if j := strings.IndexByte(s[i+3:], ']'); j >= 0 && isDimension(s[i+3:i+3+j]) {
					b.WriteString("\\\\ ")
					i += 3 + j
					continue
				}
			}
			b.WriteByte(s[i])
		}
		s = b.String()
	}
	if strings.Contains(s, "space") || strings.Contains(s, "phantom") || strings.Contains(s, "noalign") {
		for _, c := range layoutArgCmds {
			for {
				i := strings.Index(s, c)
				if i < 0 {
					break
				}
				j := i + len(c)
				for j < len(s) && s[j] == ' ' {
					j++
				}
				if j < len(s) && s[j] == '{' {
					j = matchBrace(s, j) + 1
				}
				if j > len(s) {
					j = len(s)
				}
				s = s[:i] + " " + s[j:]
			}
		}
	}
	for _, c := range layoutCmds {
		if strings.Contains(s, c) {
			s = replaceCmd(s, c, " ")
		}
	}
	return s
}

var layoutWords = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range append(append([]string{}, layoutArgCmds...), layoutCmds...) {
		m[strings.TrimSuffix(c[1:], "*")] = true
	}
	return m
}()

// hasLayout reports in one scan whether s has a "\\[" row spacing or a
// layout command.
func hasLayout(s string) bool {
	for i := strings.IndexByte(s, '\\'); i >= 0 && i+1 < len(s); {
		j := i + 1
		if s[j] == '\\' {
			if j+1 < len(s) && s[j+1] == '[' {
				return true
			}
			j++
		}
		k := j
		for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z') {
			k++
		}
		if k > j && layoutWords[s[j:k]] {
			return true
		}
		n := strings.IndexByte(s[k:], '\\')
		if n < 0 {
			return false
		}
		i = k + n
	}
	return false
}

// replaceCmd replaces the command cmd (not a longer command it prefixes).
func replaceCmd(s, cmd, with string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, cmd)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + len(cmd)
		if j < len(s) && isWordChar(rune(s[j])) {
			b.WriteString(s[:j])
			s = s[j:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(with)
		s = s[j:]
	}
}

// isDimension reports whether s is a TeX length such as 8pt, -2.5mm, 1em.
func isDimension(s string) bool {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "-")
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	if i == 0 {
		return false
	}
	switch strings.TrimSpace(s[i:]) {
	case "pt", "em", "ex", "mm", "cm", "in", "mu", "bp", "pc", "sp", "dd", "cc":
		return true
	}
	return false
}

// scriptDigits rewrites Unicode subscript and superscript digits as LaTeX:
// 1112112₃ → 1112112_{3}, x¹⁰ → x^{10}.
func scriptDigits(s string) string {
	if !strings.Contains(s, "\xe2\x82") && !strings.Contains(s, "\xe2\x81") && !strings.Contains(s, "\xc2\xb9") {
		return s
	}
	var b strings.Builder
	mode := rune(0) // '_' or '^' while inside a run
	for _, r := range s {
		d, m := rune(-1), rune(0)
		switch {
		case r >= '₀' && r <= '₉':
			d, m = r-'₀', '_'
		case r >= '⁴' && r <= '⁹':
			d, m = r-'⁰', '^'
		case r == '⁰':
			d, m = 0, '^'
		case r == '¹':
			d, m = 1, '^'
		case r == '²':
			d, m = 2, '^'
		case r == '³':
			d, m = 3, '^'
		}
		if d < 0 {
			if mode != 0 {
				b.WriteByte('}')
				mode = 0
			}
			b.WriteRune(r)
			continue
		}
		if mode != m {
			if mode != 0 {
				b.WriteByte('}')
			}
			b.WriteRune(m)
			b.WriteByte('{')
			mode = m
		}
		b.WriteByte(byte('0' + d))
	}
	if mode != 0 {
		b.WriteByte('}')
	}
	return b.String()
}

// stripOrdinals removes an ordinal suffix after a number: 12^{th}, 12^{ th },
// 12th, 1st, 22nd, 3rd → 12, 1, 22, 3.
func stripOrdinals(s string) string {
	if !strings.Contains(s, "th") && !strings.Contains(s, "st") && !strings.Contains(s, "nd") && !strings.Contains(s, "rd") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] < '0' || s[i] > '9' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == '^' || s[j] == '{' || s[j] == ' ') {
			j++
		}
		if j+2 > len(s) {
			continue
		}
		suf := s[j : j+2]
		if suf != "th" && suf != "st" && suf != "nd" && suf != "rd" {
			continue
		}
		k := j + 2
		for k < len(s) && (s[k] == ' ' || s[k] == '}') {
			k++
		}
		if k < len(s) && isWordChar(rune(s[k])) {
			continue
		}
		gap := strings.ReplaceAll(s[i+1:j], " ", "")
		if gap != "" && gap != "^" && gap != "^{" && gap != "{" {
			continue
		}
		if strings.Count(gap, "{") != strings.Count(s[j+2:k], "}") {
			continue
		}
		i = k - 1
	}
	return b.String()
}

// clock is a time of day; meridiem is 'a', 'p' or 0 when not written.
type clock struct {
	h, m     int
	meridiem byte
}

// timeOf reads a normalized time-of-day answer: "4:30 p.m", "16:30",
// "4:30pm", "4:30 PM".
func timeOf(s string) (clock, bool) {
	t := strings.ToLower(strings.NewReplacer(" ", "", ".", "", "\\", "").Replace(s))
	var c clock
	i := 0
	for i < len(t) && i < 2 && t[i] >= '0' && t[i] <= '9' {
		c.h = c.h*10 + int(t[i]-'0')
		i++
	}
	if i == 0 || i >= len(t) || t[i] != ':' || i+3 > len(t) || !allDigits(t[i+1:i+3]) {
		return clock{}, false
	}
	c.m = int(t[i+1]-'0')*10 + int(t[i+2]-'0')
	rest := t[i+3:]
	if len(rest) >= 3 && rest[0] == ':' && allDigits(rest[1:3]) {
		rest = rest[3:]
	}
	switch rest {
	case "":
	case "am", "a":
		c.meridiem = 'a'
	case "pm", "p":
		c.meridiem = 'p'
	default:
		return clock{}, false
	}
	if c.h > 24 || c.m > 59 || c.meridiem != 0 && (c.h == 0 || c.h > 12) {
		return clock{}, false
	}
	return c, true
}

// minutes is the time as minutes after midnight (12-hour times converted).
func (c clock) minutes() int {
	h := c.h
	switch c.meridiem {
	case 'a':
		h %= 12
	case 'p':
		h = h%12 + 12
	}
	return h*60 + c.m
}

// sameTime compares two times; when only one says a.m./p.m., the other is
// read on a 12-hour clock.
func sameTime(a, b clock) bool {
	if a.meridiem != 0 && b.meridiem != 0 || a.meridiem == 0 && b.meridiem == 0 {
		return a.minutes() == b.minutes()
	}
	return a.minutes()%(12*60) == b.minutes()%(12*60)
}

// plainNumber reports whether s is a bare decimal number: -12, 3.5, 10,000.
func plainNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ',') {
			return false
		}
	}
	return true
}

// unitLetters are the one-letter units accepted after a number (48g, 3m,
// 2h, 5s, 2L, 300K, -10F after the degree sign is dropped); other single
// letters (5x, 2e, 3i) are math.
const unitLetters = "gmslLhKF"

// numberWithUnit splits a normalized answer that is a number followed only
// by a unit ("48g", "225 lbs", "72 Mb/h", "2 per" left of "$2 per hour")
// and returns the number. Function names, Greek letters and other single
// letters are not units, so "5\pi", "5x" and "2e" are left alone.
func numberWithUnit(s string) (string, bool) {
	i := 0
	if strings.HasPrefix(s, "-") {
		i = 1
	}
	j := i
	for j < len(s) && (s[j] >= '0' && s[j] <= '9' || (s[j] == '.' || s[j] == ',') && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9') {
		j++
	}
	if j == i || j == len(s) {
		return "", false
	}
	num, tail := s[:j], strings.TrimSpace(s[j:])
	if tail == "" {
		return "", false
	}
	if strings.Trim(tail, "/ ") == "" {
		return num, true // the unit words were dropped already: "100 barrels/year"
	}
	words := 0
	for _, w := range strings.FieldsFunc(tail, func(r rune) bool { return r == ' ' || r == '/' || r == '.' }) {
		base := w
		if k := strings.IndexByte(w, '^'); k > 0 && allDigits(strings.Trim(w[k+1:], "{}")) {
			base = w[:k] // m^2, cm^{3}
		}
		for k := 0; k < len(base); k++ {
			if !isWordChar(rune(base[k])) {
				return "", false
			}
		}
		lw := strings.ToLower(base)
		if len(base) == 1 && !strings.Contains(unitLetters, base) || isFuncWord(lw) || greek[base] || lw == "pi" || lw == "and" || lw == "or" {
			return "", false
		}
		words++
	}
	if words == 0 || words > 3 {
		return "", false
	}
	return num, true
}

// exprThousands removes thousands separators inside an arithmetic
// expression or equation ("8!/24 = 40,320/24 = 1680"): a comma between a
// group of 1-3 digits and exactly 3 digits, outside brackets, in an answer
// that has an operator or "=". A bare "1,000" is left to parseAlternatives
// (it may be a list) and "(0,100)" is an interval.
func exprThousands(s string) string {
	if !strings.Contains(s, ",") || !strings.ContainsAny(s, "=+*/") {
		return s
	}
	var b strings.Builder
	depth := 0
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		if c == ',' && depth == 0 && isDigitAt(s, i-1) && isDigitAt(s, i+1) && isDigitAt(s, i+2) && isDigitAt(s, i+3) && !isDigitAt(s, i+4) {
			k := i - 1
			for k >= 0 && isDigitAt(s, k) {
				k--
			}
			if n := i - 1 - k; n >= 1 && n <= 3 && (k < 0 || s[k] != '.') {
				changed = true
				continue
			}
		}
		b.WriteByte(c)
	}
	if !changed {
		return s
	}
	return b.String()
}

func isDigitAt(s string, i int) bool { return i >= 0 && i < len(s) && s[i] >= '0' && s[i] <= '9' }
