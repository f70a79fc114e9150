package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/recovery"
)

func TestDryRunChecksTheRealModelsCapabilitiesAndTheBudget(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-test-not-used")
	t.Setenv("OPENAI_PREFILL", "")
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"-limit", "6", "-out", out, "-quiet", "-dry-run", "-strong", "openai:gpt-4o", "-weak", "openai:gpt-4o-mini"}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	require.Error(t, err, "gpt-4o has no native prefill: the dry run fails where the real run would")
	for _, want := range []string{"the real run would stop before its first call", "continue stage", "OPENAI_PREFILL=instructed", "-prefill METHOD"} {
		assert.Contains(t, err.Error(), want)
	}

	stdout.Reset()
	err = run(context.Background(), append(args, "-prefill", "instructed", "-budget", "0.0001"), &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	assert.Contains(t, stdout.String(), "preflight: both models can serve every stage")
	assert.Contains(t, stdout.String(), "exceeds -budget $0.00", "the dry run says its estimate is over the budget")
}

func TestProgressWritesPlainLinesOffATerminalAndTheCountsAgreeWithTheReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"-limit", "10", "-out", out, "-samples", "3", "-continuations", "2"}
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), args, &stdout, &stderr))
	assert.NotContains(t, stderr.String(), "\r", "no terminal: no carriage-return frames")
	for _, st := range []string{"strong", "weak", "perturb", "continue"} {
		assert.Regexp(t, "(?m)^"+st+` +done \d+/\d+ in `, stderr.String(), "a summary line per finished stage")
	}
	assert.Contains(t, stderr.String(), "run ETA")
	runLine := regexp.MustCompile(`run: (\d+) calls \((\d+) paid, (\d+) cached\)`).FindStringSubmatch(stdout.String())
	inv := regexp.MustCompile(`this invocation: (\d+) new calls \((\d+) paid, (\d+) from the cache\), (\d+) resumed`).FindStringSubmatch(stdout.String())
	require.NotNil(t, runLine, stdout.String())
	require.NotNil(t, inv, stdout.String())
	assert.Equal(t, runLine[1:4], inv[1:4], "a fresh run: the invocation's counts are the run's")
	assert.Equal(t, "0", inv[4])

	stdout.Reset()
	stderr.Reset()
	require.NoError(t, run(context.Background(), args, &stdout, &stderr))
	inv2 := regexp.MustCompile(`this invocation: (\d+) new calls .*, (\d+) resumed`).FindStringSubmatch(stdout.String())
	require.NotNil(t, inv2, stdout.String())
	assert.Equal(t, "0", inv2[1], "a resume of a finished run makes no new call")
	assert.Equal(t, runLine[1], inv2[2], "…and resumes every call's result")
	n, _ := strconv.Atoi(runLine[1])
	assert.Positive(t, n)
	assert.True(t, strings.Contains(stdout.String(), "run: "+runLine[1]+" calls"))
}

func TestServeOnABusyPortFailsWithoutClaimingToServe(t *testing.T) {
	require.NotNil(t, Serve)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"-out", t.TempDir(), "-limit", "3", "-quiet", "-serve", ln.Addr().String(),
		"-samples", "2", "-continuations", "1"}, &stdout, &stderr)
	require.Error(t, err)
	assert.NotContains(t, stdout.String()+stderr.String(), "viewer on", "nothing claims the viewer is up")
	assert.NotContains(t, stderr.String(), "listening on")
}

func TestTheStoredConfigShowsEffectiveValues(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-out", out, "-limit", "3", "-quiet", "-samples", "2", "-continuations", "1"}, &stdout, &stderr))
	st, err := recovery.OpenStore(out)
	require.NoError(t, err)
	defer st.Close()
	v, ok, err := st.Config(context.Background(), "config")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Contains(t, v, `"onpolicy_band":[0.2,0.8]`, "the default band, not [0,0]")
}

func TestAPaidRunOverTheThresholdAnnouncesItsSizeFirst(t *testing.T) {
	o := options{strong: "anthropic:claude-sonnet-4-5", weak: "openai:gpt-4o-mini", limit: 0, confirmCalls: 1000}
	cfg := recovery.Config{Problems: make([]dataset.Problem, 200), Samples: 5, Continuations: 5, Strategies: []string{"weak"},
		Prices: providers.DefaultPrices()}
	var out bytes.Buffer
	require.NoError(t, announce(cfg, o, &out))
	assert.Contains(t, out.String(), "paid run: 200 problems (-limit 0: every problem), about 3000 calls")
	assert.Contains(t, out.String(), "-dry-run")

	out.Reset()
	o.strong, o.weak = "sim:strong", "sim:weak"
	require.NoError(t, announce(cfg, o, &out))
	assert.Empty(t, out.String(), "the simulator is free: nothing to announce")
}
