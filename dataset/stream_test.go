package dataset_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

func collect(t *testing.T, src dataset.Source) ([]dataset.Problem, []int, error) {
	t.Helper()
	var out []dataset.Problem
	var sizes []int
	err := src.Each(context.Background(), func(c []dataset.Problem) error {
		sizes = append(sizes, len(c))
		out = append(out, c...)
		return nil
	})
	return out, sizes, err
}

func gsmLines(from, n int) []string {
	var ls []string
	for i := from; i < from+n; i++ {
		ls = append(ls, fmt.Sprintf(`{"question": "Q%d?", "answer": "s\n#### %d"}`, i, i))
	}
	return ls
}

func TestAStreamGivesOpensProblemsInChunks(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "big.jsonl")
	writeShard(t, file, gsmLines(0, 600)...)
	want, err := dataset.Open(file)
	require.NoError(t, err)
	s, err := dataset.OpenStream(file)
	require.NoError(t, err)
	for pass := 0; pass < 2; pass++ { // every pass reads the file again
		got, sizes, err := collect(t, s)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		assert.Equal(t, []int{256, 256, 88}, sizes)
	}
	got, sizes, err := collect(t, dataset.Limit(s, 300))
	require.NoError(t, err)
	assert.Equal(t, want[:300], got)
	assert.Equal(t, []int{256, 44}, sizes)
	n, err := dataset.Count(context.Background(), dataset.Limit(dataset.Slice(want), 599))
	require.NoError(t, err)
	assert.Equal(t, 599, n)
	all, err := dataset.Collect(context.Background(), dataset.Slice(want))
	require.NoError(t, err)
	assert.Equal(t, want, all)
}

func TestAStreamOverShardsGivesOpenShardsProblems(t *testing.T) {
	dir := t.TempDir()
	writeShard(t, filepath.Join(dir, "train-00001-of-00002.jsonl"), gsmLines(300, 10)...)
	writeShard(t, filepath.Join(dir, "train-00000-of-00002.jsonl"), gsmLines(0, 300)...)
	b := writeParquet(t, []hfRow{{ProblemID: "p1", Prompt: "What is 6*7?", Gold: "42"}, {ProblemID: "p2", Prompt: "2+2?", Gold: "4"}})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "train-00002-of-00002.parquet"), b, 0o644))
	for _, path := range []string{dir, filepath.Join(dir, "train-*")} {
		want, err := dataset.OpenShards(path)
		require.NoError(t, err)
		s, err := dataset.OpenStream(path)
		require.NoError(t, err)
		assert.Len(t, s.Files(), 3)
		got, _, err := collect(t, s)
		require.NoError(t, err)
		assert.Equal(t, want, got, path)
		assert.Len(t, got, 312)
	}
}

func TestAStreamReportsWhatOpenReports(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	writeShard(t, bad, append(gsmLines(0, 3), `{"question": "Q", "answer": "no hashes"}`)...)
	dupe := filepath.Join(dir, "dupe.jsonl")
	writeShard(t, dupe, `{"id": "x", "prompt": "Q", "final_answer": "1"}`, `{"id": "y", "prompt": "Q", "final_answer": "1"}`,
		`{"id": "x", "prompt": "Q", "final_answer": "2"}`)
	for _, f := range []string{bad, dupe} {
		_, want := dataset.Open(f)
		require.Error(t, want)
		s, err := dataset.OpenStream(f)
		require.NoError(t, err)
		_, _, got := collect(t, s)
		require.Error(t, got)
		assert.Equal(t, want.Error(), got.Error())
	}
	_, _, err := collect(t, mustStream(t, dupe))
	assert.ErrorIs(t, err, dataset.ErrDuplicateID)
	assert.Contains(t, err.Error(), "dupe.jsonl:3")
	assert.Contains(t, err.Error(), "first at line 1")

	shards := filepath.Join(dir, "shards")
	require.NoError(t, os.Mkdir(shards, 0o755))
	writeShard(t, filepath.Join(shards, "a.jsonl"), `{"id": "x", "prompt": "Q", "final_answer": "1"}`)
	writeShard(t, filepath.Join(shards, "b.jsonl"), `{"id": "z", "prompt": "Q", "final_answer": "1"}`, `{"id": "x", "prompt": "Q", "final_answer": "1"}`)
	_, want := dataset.OpenShards(shards)
	_, _, got := collect(t, mustStream(t, shards))
	require.Error(t, got)
	assert.Equal(t, want.Error(), got.Error())

	_, err = dataset.OpenStream(filepath.Join(dir, "problems.csv"))
	assert.Error(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "problems.csv"), nil, 0o644))
	_, err = dataset.OpenStream(filepath.Join(dir, "problems.csv"))
	assert.ErrorIs(t, err, dataset.ErrUnknownFormat)
	_, err = dataset.OpenStream(filepath.Join(dir, "*.parquet"))
	assert.ErrorIs(t, err, dataset.ErrNoShards)
}

func TestAStreamRecordsSkipsOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "n.jsonl")
	writeShard(t, file, `{"problem": "p", "solution": "\\boxed{1}", "source": "x"}`, `{"problem": "proof", "solution": "qed", "source": "x"}`)
	var skipped []dataset.Skip
	s, err := dataset.OpenStream(file, dataset.SkipUnanswered(&skipped))
	require.NoError(t, err)
	for range 2 {
		got, _, err := collect(t, s)
		require.NoError(t, err)
		assert.Len(t, got, 1)
	}
	require.Len(t, skipped, 1, "the second pass does not count the skip again")
	assert.Equal(t, 2, skipped[0].Line)
}

func mustStream(t *testing.T, path string) *dataset.Stream {
	t.Helper()
	s, err := dataset.OpenStream(path)
	require.NoError(t, err)
	return s
}

// FuzzStream checks that streaming a file gives exactly what Open gives:
// the same problems in the same order, or the same error.
func FuzzStream(f *testing.F) {
	for _, s := range []string{
		"{\"question\":\"q\",\"answer\":\"#### 1\"}\n\n{\"question\":\"r\",\"answer\":\"x\\n####\"}\n",
		`{"problem":"p","solution":"\\boxed{\\frac{1}{2}}","level":"Level 3","type":"Algebra"}`,
		"{\"id\":1,\"input\":\"i\",\"target\":2.5}\n{\"id\":1,\"input\":\"j\",\"target\":3}",
		"{\"id\":\"a\",\"prompt\":\"Q\",\"final_answer\":\"1\"}\n{\"id\":\"b\",\"prompt\":\"Q\"}",
		`[1]`, `null`, `{`, "",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, limit uint8) {
		file := filepath.Join(t.TempDir(), "f.jsonl")
		require.NoError(t, os.WriteFile(file, b, 0o644))
		want, wantErr := dataset.Open(file)
		s, err := dataset.OpenStream(file)
		require.NoError(t, err)
		got, _, gotErr := collect(t, s)
		if wantErr != nil {
			require.Error(t, gotErr)
			assert.Equal(t, wantErr.Error(), gotErr.Error())
			return
		}
		require.NoError(t, gotErr)
		assert.Equal(t, want, got)
		lim, _, err := collect(t, dataset.Limit(s, int(limit)))
		require.NoError(t, err)
		if limit > 0 && int(limit) < len(want) {
			want = want[:limit]
		}
		assert.Equal(t, want, lim)
	})
}

// BenchmarkStreamParquet streams a Parquet file of 100,000 GSM8K-length
// rows in row groups of 10,000 (about 60 MB of text) and reports the peak
// heap in use while reading it, against the file's size: a Stream holds a
// row group's pages and a chunk, not the file. (The layout is detected:
// problem_id, prompt and gold are guessed as ID, question and answer.)
func BenchmarkStreamParquet(b *testing.B) {
	const n, group = 100000, 10000
	path := filepath.Join(b.TempDir(), "train.parquet")
	f, err := os.Create(path)
	require.NoError(b, err)
	w := parquet.NewGenericWriter[hfRow](f)
	solution := strings.Repeat("She eats 3 eggs and bakes 4 muffins, so 16 - 3 - 4 = 9 eggs are left. ", 6)
	rows := make([]hfRow, 0, group)
	for i := range n {
		rows = append(rows, hfRow{ProblemID: fmt.Sprintf("p%d", i), Prompt: fmt.Sprintf("(Variant %d) %s", i, solution[:200]),
			Gold: "18", Reasoning: solution})
		if len(rows) == group {
			_, err := w.Write(rows)
			require.NoError(b, err)
			require.NoError(b, w.Flush()) // one row group
			rows = rows[:0]
		}
	}
	require.NoError(b, w.Close())
	require.NoError(b, f.Close())
	fi, err := os.Stat(path)
	require.NoError(b, err)
	for b.Loop() {
		s, err := dataset.OpenStream(path)
		require.NoError(b, err)
		runtime.GC()
		var peak uint64
		var ms runtime.MemStats
		got := 0
		require.NoError(b, s.Each(context.Background(), func(c []dataset.Problem) error {
			got += len(c)
			if got%(4*dataset.ChunkSize) == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		}))
		require.Equal(b, n, got)
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
	}
}
