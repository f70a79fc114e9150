package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/recovery"
)

func TestWithNoModelFlagsItRunsOfflineAndARerunResumes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"-limit", "15", "-out", out, "-samples", "3", "-continuations", "2", "-quiet"}
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	first := stdout.String()
	assert.Contains(t, first, "| overall | 15 |")
	assert.Contains(t, first, "outputs in "+out)
	for _, f := range []string{recovery.ReportMD, recovery.SummaryJSON, recovery.SummaryCSV, recovery.SamplesJSONL,
		recovery.StoreFile, recovery.PlotRecoveryByBucket + ".png"} {
		_, err := os.Stat(filepath.Join(out, f))
		assert.NoError(t, err, f)
	}
	summary1, err := os.ReadFile(filepath.Join(out, recovery.SummaryJSON))
	require.NoError(t, err)

	stdout.Reset()
	require.NoError(t, run(context.Background(), args, &stdout, &stderr))
	summary2, err := os.ReadFile(filepath.Join(out, recovery.SummaryJSON))
	require.NoError(t, err)
	assert.JSONEq(t, string(summary1), string(summary2), "the rerun resumed to the same result")
	table := func(s string) string { return s[:strings.Index(s, "calls ")] }
	assert.Equal(t, table(first), table(stdout.String()))
}

func TestDryRunPricesTheSimulatorAsTheNamedModels(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-limit", "8", "-out", out, "-quiet", "-dry-run",
		"-strong", "openai:gpt-4o", "-weak", "openai:gpt-4o-mini"}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	assert.Contains(t, stdout.String(), "priced as openai:gpt-4o")
	assert.Regexp(t, `estimate for the real run: about \d+ calls, \d+ input and \d+ output tokens, \$0\.\d\d`, stdout.String())
	assert.NotContains(t, stdout.String(), "$0.00\n", "a priced dry run costs something")
	_, err = os.Stat(filepath.Join(out+"-dryrun", recovery.SummaryJSON))
	assert.NoError(t, err, "dry runs go to their own directory")
	_, err = os.Stat(out)
	assert.True(t, os.IsNotExist(err), "the real run directory is untouched")
}

func TestBadFlagsAreReportedClearly(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-perturb", "sideways"}, `unknown strategy "sideways"`},
		{[]string{"-cut", "at:0"}, `cut "at:0"`},
		{[]string{"-strong", "nocolon"}, "want provider:model"},
		{[]string{"-strong", "martian:x"}, `unknown provider "martian"`},
		{[]string{"-samples", "0"}, "-samples 0: must be ≥ 1"},
		{[]string{"-budget", "-1"}, "-budget -1: must be ≥ 0"},
		{[]string{"-continuations", "0", "-rpm", "-5"}, "-rpm -5"},
		{[]string{"-probe", "maybe"}, `-probe "maybe"`},
		{[]string{"-prefill", "telepathy"}, `-prefill "telepathy"`},
		{[]string{"-dataset", "/nonexistent.jsonl"}, "nonexistent"},
		{[]string{"-dataset", "math-500"}, "built in: gsm8k, math500"},
		{[]string{"-perturb", "labeled"}, "-perturb labeled needs -labeled FILE"},
		{[]string{"-prices", "/nonexistent-prices.json"}, "-prices /nonexistent-prices.json"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-out", t.TempDir(), "-limit", "2", "-quiet"}, tc.args...)
			err := run(context.Background(), args, &stdout, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestServeWithoutAViewerSaysSo(t *testing.T) {
	if Serve != nil {
		t.Skip("the viewer is built in (serve.go); TestServeFlagServesTheViewerAfterTheRun covers -serve")
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-out", t.TempDir(), "-limit", "3", "-quiet", "-serve", "127.0.0.1:0",
		"-samples", "2", "-continuations", "1"}, &stdout, &stderr)
	if Serve == nil {
		require.Error(t, err)
		assert.Contains(t, err.Error(), "-serve")
	}
}

func TestFatalErrorsAreExplained(t *testing.T) {
	budget := explain(fmt.Errorf("x: %w", providers.ErrBudgetExceeded), "runs/r", 2)
	assert.Contains(t, budget.Error(), "$2.00 budget is exhausted")
	assert.Contains(t, budget.Error(), "larger -budget")
	assert.ErrorIs(t, budget, providers.ErrBudgetExceeded)

	apiErr := providers.NewAPIError("openai", 401, "invalid_api_key", "bad key", 0)
	apiErr.Model = "gpt-4o"
	perm := explain(fmt.Errorf("recovery: strong sample 0: %w", apiErr), "runs/r", 0)
	for _, want := range []string{"provider openai", "model gpt-4o", "HTTP 401"} {
		assert.Contains(t, perm.Error(), want)
	}
	assert.Contains(t, explain(context.Canceled, "runs/r", 0).Error(), "rerun the same command to resume")
}

func TestTheMemoryLimitIsReadFromTheMachine(t *testing.T) {
	assert.Equal(t, int64(0), parseLimit("max\n"), "cgroup v2 without a limit")
	assert.Equal(t, int64(1<<30), parseLimit("1073741824\n"))
	assert.Equal(t, int64(0), parseLimit("garbage"))
	assert.Equal(t, int64(2048<<10), memTotal(strings.NewReader("MemFree: 1 kB\nMemTotal:       2048 kB\n")))
	assert.Equal(t, int64(0), memTotal(strings.NewReader("MemTotal: 2048 MB\n")), "unknown unit")
	if _, err := os.Stat("/proc/meminfo"); err == nil {
		assert.Positive(t, machineMemory())
	}
}

func TestScreenWritesADatasetTheExperimentRunsOn(t *testing.T) {
	dir := t.TempDir()
	subset := filepath.Join(dir, "subset.jsonl")
	var stdout, stderr bytes.Buffer
	args := []string{"-limit", "40", "-out", filepath.Join(dir, "screen"), "-samples", "6", "-screen", "3",
		"-screen-out", subset, "-quiet"}
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "screened 40 problems")
	assert.Contains(t, stdout.String(), "wrote ")
	stdout.Reset()
	args = []string{"-dataset", subset, "-limit", "0", "-out", filepath.Join(dir, "run"), "-samples", "3",
		"-continuations", "2", "-quiet"}
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	assert.Regexp(t, `\| overall \| [1-9] \|`, stdout.String(), "at most 3 per bucket")

	err := run(context.Background(), []string{"-screen", "-1"}, &stdout, &stderr)
	assert.ErrorContains(t, err, "-screen")
}

// -cpuprofile writes the run's CPU profile (gzipped protobuf, as go tool
// pprof reads it); a file it cannot create is an error before the run.
func TestCPUProfileFlagWritesAProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.prof")
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-limit", "4", "-samples", "2", "-continuations", "1",
		"-quiet", "-out", filepath.Join(dir, "run"), "-cpuprofile", prof}, &stdout, &stderr), stderr.String())
	b, err := os.ReadFile(prof)
	require.NoError(t, err)
	require.Greater(t, len(b), 2)
	assert.Equal(t, []byte{0x1f, 0x8b}, b[:2], "a gzipped profile")

	out := filepath.Join(dir, "run2")
	err = run(context.Background(), []string{"-limit", "4", "-quiet", "-out", out,
		"-cpuprofile", filepath.Join(dir, "no", "such", "dir", "cpu.prof")}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-cpuprofile")
	_, err = os.Stat(out)
	assert.True(t, os.IsNotExist(err), "no run was started")
}
