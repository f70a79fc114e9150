package recovery

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

func TestAStudysTidyExportHasOneRowPerContinuationAndReadsBackFromParquet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _, _ := studyFixture(dir, dataset.GSM8KTest()[:12], 2, "sim:A", "sim:B")
	s.Reference = "sim:A"
	res, err := RunStudy(ctx, s)
	require.NoError(t, err)

	f, err := os.Open(filepath.Join(dir, TidyContinuationsParquet))
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	rows, err := ReadTidyContinuations(f, fi.Size())
	require.NoError(t, err)

	want := 0
	for _, m := range res.Models {
		want += m.Summary.Overall.Continuations
	}
	require.Equal(t, want, len(rows), "one row per verified continuation (no failures here)")

	b, err := os.ReadFile(filepath.Join(dir, TidyContinuationsCSV))
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, len(rows)+1)
	assert.Equal(t, TidyColumns(ContinuationRow{}), recs[0])

	byModel := map[string]int{}
	weakPrefix := map[string]map[string]string{}
	for i, r := range rows {
		byModel[r.Model]++
		assert.Equal(t, "Rebound study", r.Study)
		assert.NotEmpty(t, r.Bucket)
		assert.NotEmpty(t, r.ReferenceBucket)
		assert.Equal(t, int64(4), r.StrongN)
		assert.Equal(t, int64(4), r.WeakN)
		assert.NotEmpty(t, r.PrefixID)
		assert.Greater(t, r.StepsTotal, int64(0))
		assert.Positive(t, r.OutputTokens)
		assert.Equal(t, "gsm8k", r.Dataset)
		if r.Strategy == StrategyWeak {
			if weakPrefix[r.Model] == nil {
				weakPrefix[r.Model] = map[string]string{}
			}
			weakPrefix[r.Model][r.Problem] = r.PrefixID
			assert.Contains(t, r.PrefixOrigin, "weak")
		}
		// The CSV says the same as the Parquet file.
		assert.Equal(t, csvRecord(reflectValue(r), nil), recs[i+1])
	}
	assert.Equal(t, 2, len(byModel))
	assert.Equal(t, weakPrefix["sim:A"], weakPrefix["sim:B"], "both models continued the same weak prefixes")

	g, err := os.Open(filepath.Join(dir, TidyStraightShotsParquet))
	require.NoError(t, err)
	defer g.Close()
	gi, err := g.Stat()
	require.NoError(t, err)
	shots, err := ReadTidyStraightShots(g, gi.Size())
	require.NoError(t, err)
	stages := map[string]int{}
	for _, r := range shots {
		stages[r.Stage+" "+r.Model]++
	}
	assert.Equal(t, map[string]int{"weak sim:weak": 12 * 4, "strong sim:A": 12 * 4, "strong sim:B": 12 * 4}, stages,
		"the weak samples are exported once, each strong model's own")
}

func TestAPlainRunWritesTheTidyExportToo(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 6, 1)
	sum, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	f, err := os.Open(filepath.Join(dir, TidyContinuationsParquet))
	require.NoError(t, err)
	defer f.Close()
	fi, _ := f.Stat()
	rows, err := ReadTidyContinuations(f, fi.Size())
	require.NoError(t, err)
	assert.Len(t, rows, sum.Overall.Continuations)
	for _, r := range rows {
		assert.Equal(t, "sim:strong", r.Model)
		assert.Empty(t, r.Study)
	}
}

func TestReadingATidyFileThatIsNotOneSaysWhy(t *testing.T) {
	_, err := ReadTidyContinuations(bytes.NewReader([]byte("not parquet")), 11)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tidy parquet")
}

func FuzzReadTidyContinuations(f *testing.F) {
	var buf bytes.Buffer
	w := newTidyBuffer(&buf)
	require.NoError(f, w.Write([]ContinuationRow{{Model: "m", Problem: "p", Correct: true}}))
	f.Add(buf.Bytes())
	f.Add([]byte("PAR1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		_, _ = ReadTidyContinuations(bytes.NewReader(b), int64(len(b)))
	})
}

func FuzzReadStudy(f *testing.F) {
	f.Add([]byte(`{"models":[],"comparison":{"binning":"own","level":0.95,"models":[],"paired":[{"diff":null}]}}`))
	f.Add([]byte(`{"models":[{"summary":{"overall":{"recovery_rate":0.5}}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ReadStudy(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		require.NoError(t, r.WriteJSON(&out))
	})
}

func reflectValue(r ContinuationRow) reflect.Value { return reflect.ValueOf(r) }

type tidyBuffer struct {
	w *parquet.GenericWriter[ContinuationRow]
}

func newTidyBuffer(b *bytes.Buffer) tidyBuffer {
	return tidyBuffer{parquet.NewGenericWriter[ContinuationRow](b)}
}

func (t tidyBuffer) Write(rows []ContinuationRow) error {
	if _, err := t.w.Write(rows); err != nil {
		return err
	}
	return t.w.Close()
}
