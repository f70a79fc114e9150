package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/internal/faultserver"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/sim"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// harness builds examples/recovery once per test binary and returns its path.
func harness(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "rebound-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "recovery")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			goTool = "go"
		}
		out, err := exec.Command(goTool, "build", "-o", binPath, "github.com/rebound-lab/rebound/examples/recovery").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build examples/recovery: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// result is a finished harness process.
type result struct {
	stdout, stderr string
	exit           int
	maxRSS         int64 // bytes
	elapsed        time.Duration
}

// command prepares the harness with only env (plus PATH and a fresh HOME)
// in its environment, so no key of the machine's leaks in.
func command(t testing.TB, env map[string]string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(harness(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// run runs the harness to the end (or until ctx ends, which kills it).
func run(t testing.TB, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	cmd, stdout, stderr := command(t, env, args...)
	start := time.Now()
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Kill()
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	r := result{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "harness did not run: %v", err)
		r.exit = ee.ExitCode()
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss * 1024 // Linux reports kilobytes
	}
	return r
}

// models answers requests for the model names in byModel from simulators
// taught problems (the server-side stand-ins for real APIs), and bills every
// answer it computes at the model's price: an upper bound of what the
// client was billed, since an answer computed may still fail to arrive.
type models struct {
	byModel map[string]*sim.Solver
	prices  map[string]providers.Price
	// verbose multiplies the output tokens reported (a model that writes
	// more than the simulator), to make calls cost more; 0 means 1.
	verbose int

	mu     sync.Mutex
	billed float64
	tokens map[string]providers.Usage
}

// newModels serves the strong and weak simulator presets (seed 1) under the
// given model names.
func newModels(problems []dataset.Problem, strongName, weakName string) *models {
	sc, wc := sim.Strong(), sim.Weak()
	sc.Seed, wc.Seed = 1, 1
	return &models{
		byModel: map[string]*sim.Solver{strongName: sim.New(sc, problems...), weakName: sim.New(wc, problems...)},
		prices:  map[string]providers.Price{},
		tokens:  map[string]providers.Usage{},
	}
}

func (m *models) answer(ctx context.Context, req faultserver.Request) (faultserver.Reply, error) {
	if rep, ok := canaryReply(req, false); ok { // the preflight probe (-probe auto)
		return rep, nil
	}
	s, ok := m.byModel[req.Model]
	if !ok {
		return faultserver.Reply{}, fmt.Errorf("no model %q", req.Model)
	}
	rep, err := faultserver.FromCompleter(s)(ctx, req)
	if err != nil {
		return rep, err
	}
	if m.verbose > 1 {
		rep.OutputTokens *= m.verbose
		// A real server never writes (or bills) more than max_tokens
		// (the harness always sends one: recovery.DefaultMaxTokens).
		if req.MaxTokens > 0 && rep.OutputTokens > req.MaxTokens {
			rep.OutputTokens = req.MaxTokens
		}
	}
	u := providers.Usage{InputTokens: rep.InputTokens, OutputTokens: rep.OutputTokens}
	m.mu.Lock()
	m.tokens[req.Model] = m.tokens[req.Model].Add(u)
	m.billed += m.prices[req.Model].Cost(u)
	m.mu.Unlock()
	return rep, nil
}

func (m *models) billedUSD() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.billed
}

// server starts a faultserver answering from m with cfg's faults.
func (m *models) server(t testing.TB, cfg faultserver.Config) *faultserver.Server {
	cfg.Answer = m.answer
	s := faultserver.New(cfg)
	t.Cleanup(s.Close)
	return s
}

// compatEnv points the openai-compatible provider at s with key.
func compatEnv(s *faultserver.Server, key string) map[string]string {
	return map[string]string{"OPENAI_COMPATIBLE_BASE_URL": s.BaseURL, "OPENAI_COMPATIBLE_API_KEY": key}
}

// runArgs are the harness flags for a run on the first n embedded GSM8K
// problems with the openai-compatible "strong" and "weak" models.
func runArgs(dir string, n int, extra ...string) []string {
	return append([]string{"-out", dir, "-limit", fmt.Sprint(n), "-quiet",
		"-strong", "openai-compatible:strong", "-weak", "openai-compatible:weak"}, extra...)
}

// sampleRow is the part of a samples.jsonl line the tests read.
type sampleRow struct {
	Stage     string  `json:"stage"`
	ProblemID string  `json:"problem_id"`
	Prefix    string  `json:"prefix"`
	Sample    int     `json:"sample"`
	Error     string  `json:"error"`
	Response  string  `json:"response"`
	CostUSD   float64 `json:"cost_usd"`
	Cached    bool    `json:"cached"`
}

func readSamples(t testing.TB, dir string) []sampleRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "samples.jsonl"))
	require.NoError(t, err)
	var rows []sampleRow
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var r sampleRow
		require.NoError(t, json.Unmarshal([]byte(line), &r), "samples.jsonl:%d", i+1)
		rows = append(rows, r)
	}
	return rows
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
