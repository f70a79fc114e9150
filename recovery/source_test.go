package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers/sim"
)

// writeProblems writes problems as a generic JSONL file (id, question,
// answer, solution) and returns its path and the problems as dataset.Open
// reads them back.
func writeProblems(t *testing.T, dir string, ps []dataset.Problem) (string, []dataset.Problem) {
	t.Helper()
	var b strings.Builder
	for _, p := range ps {
		line, err := json.Marshal(map[string]string{"id": p.ID, "question": p.Question, "answer": p.Answer, "solution": p.Solution})
		require.NoError(t, err)
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, "problems.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	back, err := dataset.Open(path)
	require.NoError(t, err)
	return path, back
}

// streamConfig is simConfig's run over a Source, with simulators that find
// the problems in the run's store instead of holding them.
func streamConfig(t testing.TB, dir string, src dataset.Source, seed int64) Config {
	cfg := simConfig(t, dir, 1, seed)
	sc, wc := sim.Strong(), sim.Weak()
	sc.Seed, wc.Seed = seed, seed
	found := NewStoredProblems(dir)
	t.Cleanup(func() { found.Close() })
	cfg.Problems, cfg.Source = nil, src
	cfg.Strong, cfg.Weak = sim.NewFinder(sc, found), sim.NewFinder(wc, found)
	return cfg
}

// A run whose problems are streamed from a file, answered by simulators
// that hold no problem, gives every result a run over the same problems in
// memory gives.
func TestAStreamedRunGivesTheResultsOfARunOverASlice(t *testing.T) {
	path, ps := writeProblems(t, t.TempDir(), dataset.GSM8KTest()[:24])
	sliceDir, streamDir := t.TempDir(), t.TempDir()
	cfg := simConfig(t, sliceDir, 1, 3)
	sc, wc := sim.Strong(), sim.Weak()
	sc.Seed, wc.Seed = 3, 3
	cfg.Problems, cfg.Strong, cfg.Weak = ps, sim.New(sc, ps...), sim.New(wc, ps...)
	want, err := Run(context.Background(), cfg)
	require.NoError(t, err)

	src, err := dataset.OpenStream(path)
	require.NoError(t, err)
	var events int
	scfg := streamConfig(t, streamDir, src, 3)
	scfg.Progress = func(e Event) {
		events++
		if e.Stage == StageStrong {
			assert.Equal(t, 24*5, e.Total, "the progress total is counted from the stream")
		}
	}
	got, err := Run(context.Background(), scfg)
	require.NoError(t, err)
	assert.Greater(t, events, 0)
	// Every row equal, cache hits included (they once differed by one under
	// load: a cache row could commit apart from its texts, see
	// TestAGroupOfWritesIsNeverSplitAcrossCommits).
	assert.JSONEq(t, summaryJSON(t, want), summaryJSON(t, got))
	wantRows, wantPre := rowsOf(t, sliceDir)
	gotRows, gotPre := rowsOf(t, streamDir)
	assert.Equal(t, wantRows, gotRows)
	assert.Equal(t, wantPre, gotPre)
}

// A run directory made from a slice (the fingerprints Run recorded before
// it could stream) resumes from a stream of the same problems: the
// identity's dataset fingerprint is the slice's, and a finished run
// resumes with nothing to do, without a call.
func TestAStreamResumesARunMadeFromASliceAndTheFingerprintsAgree(t *testing.T) {
	path, ps := writeProblems(t, t.TempDir(), dataset.GSM8KTest()[:16])
	dir := t.TempDir()
	cfg := simConfig(t, dir, 1, 5)
	sc, wc := sim.Strong(), sim.Weak()
	sc.Seed, wc.Seed = 5, 5
	cfg.Problems, cfg.Strong, cfg.Weak = ps, sim.New(sc, ps...), sim.New(wc, ps...)
	first, err := Run(context.Background(), cfg)
	require.NoError(t, err)

	st, err := OpenStore(dir)
	require.NoError(t, err)
	idJSON, ok, err := st.Config(context.Background(), "identity")
	require.NoError(t, err)
	require.True(t, ok)
	var id identity
	require.NoError(t, json.Unmarshal([]byte(idJSON), &id))
	assert.Equal(t, problemsFingerprint(ps), id.Problems, "the streamed fingerprint is the one of the sorted slice")
	fin, ok, err := st.state(context.Background(), finishedKey)
	require.NoError(t, err)
	require.True(t, ok)
	var f finished
	require.NoError(t, json.Unmarshal([]byte(fin), &f))
	old := cfg
	require.NoError(t, old.defaults())
	oldWork, ok := workFingerprint(&old) // over the slice, as before streaming
	require.True(t, ok)
	assert.Equal(t, oldWork, f.Work)
	require.NoError(t, st.Close())

	src, err := dataset.OpenStream(path)
	require.NoError(t, err)
	scfg := streamConfig(t, dir, src, 5)
	strong, weak := newCounting(scfg.Strong), newCounting(scfg.Weak)
	scfg.Strong, scfg.Weak = strong, weak
	got, err := Run(context.Background(), scfg)
	require.NoError(t, err)
	assert.Empty(t, strong.sent)
	assert.Empty(t, weak.sent)
	assert.Equal(t, Cost{Resumed: first.Cost.Calls}, got.Invocation, "the finished run's shortcut")
	assert.JSONEq(t, summaryJSON(t, first), summaryJSON(t, withInvocation(got, first.Invocation)))
}

func withInvocation(s Summary, c Cost) Summary {
	s.Invocation = c
	return s
}

// A dataset that differs from the stored one is refused before any call,
// naming the first changed and the first missing problem in stored order,
// and the refused run stores nothing of it.
func TestAStreamThatDiffersFromTheStoredProblemsIsRefusedAndStoresNothing(t *testing.T) {
	ps := dataset.GSM8KTest()[:20]
	dir := t.TempDir()
	cfg := simConfig(t, dir, 20, 2)
	_, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	count := func() int {
		st, err := OpenStore(dir)
		require.NoError(t, err)
		defer st.Close()
		var n int
		require.NoError(t, st.DB().QueryRow(`SELECT COUNT(*) FROM problems`).Scan(&n))
		return n
	}
	require.Equal(t, 20, count())

	other := append([]dataset.Problem(nil), ps[2:]...) // the first two dropped
	other[5].Answer = "12345"                          // ps[7]
	other[3].Question += " (changed)"                  // ps[5]
	other = append(other, dataset.Problem{ID: "new", Question: "What is 2+2?", Answer: "4"})
	for _, src := range []string{"slice", "stream"} {
		c := simConfig(t, dir, 20, 2)
		c.Problems = other
		if src == "stream" {
			c.Problems, c.Source = nil, dataset.Slice(other)
		}
		strong := newCounting(c.Strong)
		c.Strong = strong
		_, err = Run(context.Background(), c)
		require.ErrorIs(t, err, ErrConfig, src)
		assert.Contains(t, err.Error(), "dataset: 2 stored problems have another question or answer now (first: "+ps[5].ID+")", src)
		assert.Contains(t, err.Error(), "dataset: 2 of the 20 stored problems are not in this one (first: "+ps[0].ID+")", src)
		assert.Empty(t, strong.sent, src)
		assert.Equal(t, 20, count(), "%s: the new problem was rolled back", src)
	}
}

func TestARunRefusesBadProblemsBeforeAnyCall(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir, 10, 1)
	cfg.Problems = append(cfg.Problems, cfg.Problems[3])
	strong := newCounting(cfg.Strong)
	cfg.Strong = strong
	_, err := Run(context.Background(), cfg)
	require.ErrorIs(t, err, ErrConfig)
	assert.Contains(t, err.Error(), fmt.Sprintf("problem ID %q occurs twice in the problems (again at problem 11)", cfg.Problems[3].ID))

	file := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(file, []byte("{\"question\": \"Q?\", \"answer\": \"s\\n#### 1\"}\nnot json\n"), 0o644))
	src, err := dataset.OpenStream(file)
	require.NoError(t, err)
	cfg = streamConfig(t, t.TempDir(), src, 1)
	_, err = Run(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.jsonl:2")
	assert.Empty(t, strong.sent)

	empty := filepath.Join(t.TempDir(), "empty.jsonl")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	src, err = dataset.OpenStream(empty)
	require.NoError(t, err)
	_, err = Run(context.Background(), streamConfig(t, t.TempDir(), src, 1))
	assert.ErrorIs(t, err, ErrConfig)
	assert.Contains(t, err.Error(), "no Problems")
}

// StoredProblems finds a stored problem by question key and by ID, and a
// run directory made before the key column gets it on the next Run.
func TestStoredProblemsFindsWhatTheRunStored(t *testing.T) {
	dir := t.TempDir()
	sp := NewStoredProblems(dir)
	defer sp.Close()
	_, err := sp.ByQuestion(context.Background(), 1)
	assert.Error(t, err, "no run.db yet")

	cfg := simConfig(t, dir, 12, 1)
	_, err = Run(context.Background(), cfg)
	require.NoError(t, err)
	p := cfg.Problems[4]
	got, err := sp.ByQuestion(context.Background(), dataset.QuestionKey("  "+p.Question+"\n"))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, p.ID, got[0].ID)
	assert.Equal(t, p.Solution, got[0].Solution)
	byID, ok, err := sp.ByID(context.Background(), p.ID)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, got[0], byID)
	_, ok, err = sp.ByID(context.Background(), "nope")
	require.NoError(t, err)
	assert.False(t, ok)

	st, err := OpenStore(dir)
	require.NoError(t, err)
	_, err = st.DB().Exec(`UPDATE problems SET qkey = 0`) // as a run made before the column
	require.NoError(t, err)
	require.NoError(t, st.Close())
	none, err := sp.ByQuestion(context.Background(), dataset.QuestionKey(p.Question))
	require.NoError(t, err)
	assert.Empty(t, none)
	_, err = Run(context.Background(), simConfig(t, dir, 12, 1))
	require.NoError(t, err)
	got, err = sp.ByQuestion(context.Background(), dataset.QuestionKey(p.Question))
	require.NoError(t, err)
	assert.Len(t, got, 1, "filled in by the resume")
}

// ByQuestions answers each key as ByQuestion does (absent, repeated and
// more keys than one query takes included), so a simulator that asks in
// one query finds what it found asking one key at a time.
func TestStoredProblemsByQuestionsIsByQuestionForEachKey(t *testing.T) {
	var _ sim.BatchFinder = (*StoredProblems)(nil)
	dir := t.TempDir()
	cfg := simConfig(t, dir, 12, 1)
	_, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	sp := NewStoredProblems(dir)
	defer sp.Close()
	ctx := context.Background()
	var keys []uint64
	for i, p := range cfg.Problems {
		keys = append(keys, dataset.QuestionKey(p.Question))
		if i%3 == 0 {
			keys = append(keys, uint64(1000+i)) // no such question
		}
	}
	keys = append(keys, keys[2]) // asked twice
	require.Greater(t, len(keys), maxKeysPerQuery)
	got, err := sp.ByQuestions(ctx, keys)
	require.NoError(t, err)
	require.Len(t, got, len(keys))
	found := 0
	for i, k := range keys {
		want, err := sp.ByQuestion(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, want, got[i], "key %d (%d)", i, k)
		found += len(got[i])
	}
	assert.Equal(t, len(cfg.Problems)+1, found)
}

// countingSource counts the passes over a Stream (Stamp and UniqueIDs are
// the Stream's).
type countingSource struct {
	*dataset.Stream
	passes int
}

func (c *countingSource) Each(ctx context.Context, fn func([]dataset.Problem) error) error {
	c.passes++
	return c.Stream.Each(ctx, fn)
}

// A resume on dataset files that did not change (size, modification time)
// does not read them; a changed file, or problems stored by another path,
// makes the next run read them again.
func TestAResumeOnUnchangedFilesDoesNotReadThem(t *testing.T) {
	path, _ := writeProblems(t, t.TempDir(), dataset.GSM8KTest()[:12])
	dir := t.TempDir()
	open := func() *countingSource {
		s, err := dataset.OpenStream(path)
		require.NoError(t, err)
		return &countingSource{Stream: s}
	}
	first := open()
	want, err := Run(context.Background(), streamConfig(t, dir, first, 4))
	require.NoError(t, err)
	assert.Equal(t, 3, first.passes, "preflight's first chunk, admission, feed")

	again := open()
	got, err := Run(context.Background(), streamConfig(t, dir, again, 4))
	require.NoError(t, err)
	assert.Equal(t, 1, again.passes, "only preflight's first chunk")
	assert.Equal(t, Cost{Resumed: want.Cost.Calls}, got.Invocation)

	cfg := streamConfig(t, dir, open(), 4)
	cfg.Samples = 6 // another experiment's prefix: the dataset is read again
	more := cfg.Source.(*countingSource)
	_, err = Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, 3, more.passes)

	later := time.Now().Add(time.Minute)
	require.NoError(t, os.Chtimes(path, later, later))
	touched := open()
	cfg = streamConfig(t, dir, touched, 4)
	cfg.Samples = 6
	_, err = Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, 2, touched.passes, "a touched file is read again (then the finished run's shortcut)")

	st, err := OpenStore(dir)
	require.NoError(t, err)
	require.NoError(t, st.PutProblems(context.Background(), dataset.GSM8KTest()[:12]))
	require.NoError(t, st.Close())
	after := open()
	cfg = streamConfig(t, dir, after, 4)
	cfg.Samples = 6
	_, err = Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, after.passes, 2, "problems stored by another path: read again")
}
