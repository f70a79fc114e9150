package e2e_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/faultserver"
	"github.com/rebound-lab/rebound/recovery"
)

// kill is one SIGKILL of the harness.
type kill struct {
	at       time.Duration // after the process started
	inFlight int64         // requests the server was handling at that moment
	requests int64         // requests the server had seen by then
}

func TestSIGKILLAtTenRandomMomentsThenResumingEndsWhereAnUninterruptedRunDoes(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the harness binary eleven times")
	}
	const n, concurrency, kills = 40, 8, 10
	problems := dataset.GSM8KTest()
	cfg := faultserver.Config{Latency: 100 * time.Millisecond}
	args := func(dir string) []string {
		return runArgs(dir, n, "-samples", "3", "-continuations", "3", "-concurrency", "8", "-timeout", "30s")
	}

	// The uninterrupted run, against its own server.
	base := newModels(problems, "strong", "weak").server(t, cfg)
	baseDir := filepath.Join(t.TempDir(), "run")
	r := run(t, context.Background(), compatEnv(base, "k"), args(baseDir)...)
	require.Equal(t, 0, r.exit, "uninterrupted run: %s", r.stderr)
	want := base.Stats()
	t.Logf("uninterrupted: %d requests in %s", want.Requests, r.elapsed.Round(time.Millisecond))

	// The same command killed at ten seeded random moments, then left to
	// finish.
	srv := newModels(problems, "strong", "weak").server(t, cfg)
	dir := filepath.Join(t.TempDir(), "run")
	rng := rand.New(rand.NewPCG(2026, 9))
	var done []kill
	for len(done) < kills {
		at := 150*time.Millisecond + time.Duration(rng.Int64N(int64(850*time.Millisecond)))
		cmd, _, stderr := command(t, compatEnv(srv, "k"), args(dir)...)
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			require.Failf(t, "the run finished before kill", "kill %d at %s: %v %s", len(done)+1, at, err, stderr)
		case <-time.After(at):
		}
		k := kill{at: at, inFlight: srv.InFlight(), requests: srv.Stats().Requests}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		<-exited
		done = append(done, k)
	}
	r = run(t, context.Background(), compatEnv(srv, "k"), args(dir)...)
	require.Equal(t, 0, r.exit, "final run: %s", r.stderr)
	got := srv.Stats()

	assert.JSONEq(t, readFile(t, filepath.Join(baseDir, "summary.json")), readFile(t, filepath.Join(dir, "summary.json")),
		"summary.json after ten kills equals the uninterrupted run's")

	// Requests are counted by content: the interrupted runs may repeat a
	// request only if it was in flight at a kill.
	var repeated, paidTwice, inFlight int64
	for h, k := range got.ByHash {
		repeated += max(0, k-want.ByHash[h])
	}
	for h, k := range got.AnsweredByHash {
		paidTwice += max(0, k-want.AnsweredByHash[h])
	}
	for h := range want.ByHash {
		assert.Contains(t, got.ByHash, h, "the resumed run sent every request the uninterrupted one did")
	}
	for i, k := range done {
		t.Logf("kill %2d at %4dms: %d in flight at the server, %d requests so far", i+1, k.at.Milliseconds(), k.inFlight, k.requests)
		inFlight += k.inFlight
	}
	t.Logf("requests: %d uninterrupted, %d with %d kills; repeated %d (the server had %d in flight at the kills), of which answered (paid) again %d",
		want.Requests, got.Requests, kills, repeated, inFlight, paidTwice)
	// A kill loses the calls in flight and the results still queued for the
	// store (recovery.FlushInterval: the durability contract): at most the
	// concurrency limit plus what the limit answers in one flush interval.
	latency := cfg.Latency
	perWindow := concurrency * int(1+(recovery.FlushInterval+latency-1)/latency)
	assert.LessOrEqual(t, repeated, int64(kills*(concurrency+perWindow)),
		"at most the calls in flight and those answered in one flush interval repeated per kill")
	assert.Equal(t, want.Requests+repeated, got.Requests, "no other request was sent")
}
