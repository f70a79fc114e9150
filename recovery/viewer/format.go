package viewer

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// formatPct shows a fraction as a percentage, "—" when undefined.
func formatPct(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "—"
	}
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

// formatFrac shows k/n, "—" when n is 0.
func formatFrac(k, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%d/%d", k, n)
}

// formatUSD shows dollars with enough precision for per-call costs.
func formatUSD(f float64) string {
	switch {
	case f == 0:
		return "$0"
	case math.Abs(f) < 0.01:
		return "$" + strconv.FormatFloat(f, 'f', 5, 64)
	case math.Abs(f) < 100:
		return "$" + strconv.FormatFloat(f, 'f', 4, 64)
	default:
		return "$" + strconv.FormatFloat(f, 'f', 2, 64)
	}
}

// formatInt groups thousands: 12345 → "12,345".
func formatInt(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatLatency shows a call's wall time ("850ms", "1.23s"); "" below a
// millisecond (cache hits, simulators).
func formatLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return ""
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// formatDepth shows a truncation depth (fraction of steps kept).
func formatDepth(f float64) string {
	if math.IsNaN(f) {
		return "—"
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

// snippet returns the first n runes of s on one line, with "…" if cut.
func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k] + "…"
		}
		i++
	}
	return s
}

// tail returns at most the last n bytes of s, starting at a line boundary
// when one is near and never inside a UTF-8 sequence, with "…" prepended if
// anything was dropped.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	start := len(s) - n
	for start < len(s) && !utf8.RuneStart(s[start]) {
		start++
	}
	if nl := strings.IndexByte(s[start:], '\n'); nl >= 0 && nl < n/2 && start+nl+1 < len(s) {
		start += nl + 1
	}
	return "…" + s[start:]
}

// kv is a key and value for templates.
type kv struct {
	Key   string
	Value string
}

// sortedMap lists m's entries by key.
func sortedMap(m any) []kv {
	var out []kv
	switch m := m.(type) {
	case map[string]string:
		for k, v := range m {
			out = append(out, kv{k, v})
		}
	case map[string]int:
		for k, v := range m {
			out = append(out, kv{k, strconv.Itoa(v)})
		}
	}
	slices.SortFunc(out, func(a, b kv) int { return strings.Compare(a.Key, b.Key) })
	return out
}
