package recovery

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers/sim"
)

func simConfig(t testing.TB, dir string, n int, seed int64) Config {
	problems := dataset.GSM8KTest()[:n]
	sc, wc := sim.Strong(), sim.Weak()
	sc.Seed, wc.Seed = seed, seed
	return Config{
		Dir: dir, Problems: problems,
		Strong: sim.New(sc, problems...), StrongModel: "sim:strong",
		Weak: sim.New(wc, problems...), WeakModel: "sim:weak",
		Samples: 5, Continuations: 4, Seed: seed, Concurrency: 4,
	}
}

func TestRunOnTheSimulatorWritesAFullReport(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 30, 1)
	cfg.Strategies = []string{StrategyWeak, StrategyOnPolicy, StrategyInject}
	var events int
	cfg.Progress = func(Event) { events++ }
	sum, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, 30, sum.Overall.Problems)
	assert.Greater(t, sum.Overall.Continuations, 0)
	assert.Greater(t, events, 30)
	assert.Equal(t, []string{"hard", "medium", "easy"}, sum.BucketNames())
	for _, f := range []string{SummaryJSON, SummaryCSV, ReportMD, SamplesJSONL, StoreFile,
		PlotRecoveryByBucket + ".svg", PlotRecoveryByBucket + ".png"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Greater(t, fi.Size(), int64(100), f)
	}
	t.Logf("\n%s", sum.Table())
	t.Logf("cost %+v stage %+v", sum.Cost, sum.StageCost)
}
