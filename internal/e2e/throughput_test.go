package e2e_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/internal/e2e"
	"github.com/rebound-lab/rebound/internal/faultserver"
)

// Throughput workload: an RPM ceiling R answered with 429 + Retry-After
// above it, and a fixed per-call latency L, so a client needs R/60 × L
// calls in flight (20 here) to use the whole ceiling.
const (
	ceilingRPM = 6000
	latency    = 200 * time.Millisecond
	warmup     = 3 * time.Second
	window     = 20 * time.Second
)

// throughput runs the harness with -rpm R and extra flags against a server
// with ceiling R and latency L, and returns the requests per minute the
// server answered over the measurement window (after a warm-up), the
// server's stats, and the most calls in flight at once.
func throughput(tb testing.TB, extra ...string) (rpm float64, st faultserver.Stats) {
	tb.Helper()
	problems := e2e.Synthetic(2000) // 10,000 strong calls: more than the window needs
	data := filepath.Join(tb.TempDir(), "problems.jsonl")
	f, err := os.Create(data)
	require.NoError(tb, err)
	require.NoError(tb, e2e.WriteJSONL(f, problems))
	require.NoError(tb, f.Close())

	srv := newModels(problems, "strong", "weak").server(tb, faultserver.Config{RPM: ceilingRPM, Latency: latency})
	args := append(runArgs(filepath.Join(tb.TempDir(), "run"), 0, "-dataset", data, "-rpm", "6000", "-timeout", "30s"), extra...)
	cmd, _, stderr := command(tb, compatEnv(srv, "k"), args...)
	require.NoError(tb, cmd.Start())
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(time.Minute)
	for srv.Stats().Requests == 0 {
		require.True(tb, time.Now().Before(deadline), "the harness sent nothing: %s", stderr)
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(warmup)
	a0, t0 := srv.Stats().Answered, time.Now()
	time.Sleep(window)
	st = srv.Stats()
	return float64(st.Answered-a0) / time.Since(t0).Minutes(), st
}

// BenchmarkThroughput reports the requests per minute the harness sustains
// against an RPM ceiling of 6,000 with 200 ms per call, as a fraction of
// the ceiling: with its default (automatic) concurrency, and with a fixed
// 10 connections (at most 10 / 0.2 s = 3,000 a minute) for comparison.
// Each iteration takes about 25 s: run with -benchtime=1x.
func BenchmarkThroughput(b *testing.B) {
	for _, c := range []struct {
		name  string
		flags []string
	}{{"auto", nil}, {"fixed-10", []string{"-concurrency", "10"}}} {
		b.Run(c.name, func(b *testing.B) {
			var sum float64
			var st faultserver.Stats
			for range b.N {
				var rpm float64
				rpm, st = throughput(b, c.flags...)
				sum += rpm
			}
			rpm := sum / float64(b.N)
			b.ReportMetric(rpm, "req/min")
			b.ReportMetric(rpm/ceilingRPM, "of-ceiling")
			b.ReportMetric(float64(st.MaxInFlight), "max-in-flight")
			b.ReportMetric(float64(st.RateLimited), "429s")
		})
	}
}
