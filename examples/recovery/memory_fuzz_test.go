package main

import (
	"strings"
	"testing"
)

// FuzzMemoryLimitParsers feeds arbitrary cgroup and /proc/meminfo text to
// the parsers: they never panic and never return a negative size.
func FuzzMemoryLimitParsers(f *testing.F) {
	f.Add("max\n")
	f.Add("1073741824\n")
	f.Add("MemTotal:       24683652 kB\nMemFree: 1 kB\n")
	f.Add("MemTotal: 99999999999999999999 kB\n")
	f.Add("MemTotal: 9007199254740993 kB\n") // overflows when scaled to bytes
	f.Fuzz(func(t *testing.T, s string) {
		if n := parseLimit(s); n < 0 {
			t.Fatalf("parseLimit(%q) = %d", s, n)
		}
		if n := memTotal(strings.NewReader(s)); n < 0 {
			t.Fatalf("memTotal(%q) = %d", s, n)
		}
	})
}
