package main

import (
	"bufio"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// machineMemory returns the bytes of memory this process may use: the
// smallest of its cgroup's limit (v2 memory.max, v1 memory.limit_in_bytes)
// and the machine's MemTotal, or 0 if none can be read.
func machineMemory() int64 {
	var best int64
	take := func(n int64) {
		if n > 0 && (best == 0 || n < best) {
			best = n
		}
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(path); err == nil {
			take(parseLimit(string(b)))
		}
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		take(memTotal(f))
	}
	return best
}

// parseLimit reads a cgroup memory limit: a byte count, or "max" (none:
// 0). v1 reports "no limit" as a huge number, which MemTotal undercuts.
func parseLimit(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// memTotal reads the "MemTotal: N kB" line of /proc/meminfo; 0 if absent.
func memTotal(f io.Reader) int64 {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || n <= 0 || n > math.MaxInt64>>10 {
			return 0
		}
		return n << 10
	}
	return 0
}
