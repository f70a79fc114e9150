package recovery

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "modernc.org/sqlite"

	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
)

// seedServer is a completer whose endpoint declares seed support, like the
// vLLM preset; it records each request's seed and answers with reasoning
// and an upstream, as a router would.
type seedServer struct {
	name  string
	mu    sync.Mutex
	seeds map[string]*int64
}

func (s *seedServer) Endpoint() providers.Endpoint { return providers.Endpoint{Provider: s.name} }

func (s *seedServer) Complete(ctx context.Context, req providers.Request) (providers.Completion, error) {
	s.mu.Lock()
	s.seeds[fmt.Sprint(req.Messages[0].Content, "#", req.Prefill != "", "#", req.Sample)] = req.Seed
	s.mu.Unlock()
	return providers.Completion{Text: "The answer is \\boxed{1}.", Reasoning: "thinking about it", Upstream: "HostA", Provider: s.name}, nil
}

func TestPerSampleSeedsAreDerivedSentAndRecorded(t *testing.T) {
	providers.DeclareSampleSeeds("seedtest-yes", true)
	for _, accepts := range []bool{true, false} {
		t.Run(fmt.Sprintf("accepts=%v", accepts), func(t *testing.T) {
			name := "seedtest-no"
			if accepts {
				name = "seedtest-yes"
			}
			srv := &seedServer{name: name, seeds: map[string]*int64{}}
			st, err := OpenStore(t.TempDir())
			require.NoError(t, err)
			defer st.Close()
			run := int64(42)
			ss := &StraightShot{Exec: Exec{Store: st}, Stage: StageStrong, Model: "x:m", Completer: srv, Verifier: exact, Samples: 4, RunSeed: &run}
			_, err = ss.Run(context.Background(), probs(3))
			require.NoError(t, err)
			cs := &Continue{Exec: Exec{Store: st}, Model: "x:m", Completer: srv, Verifier: exact, K: 2, RunSeed: &run}
			_, err = cs.Run(context.Background(), []PrefixResult{{Problem: probs(1)[0], Strategy: "weak", Prefix: perturb.Prefix{Text: "Step 1"}}})
			require.NoError(t, err)

			distinct := map[int64]bool{}
			for k, s := range srv.seeds {
				if !accepts {
					assert.Nil(t, s, "no seed to a provider that does not declare them: %s", k)
					continue
				}
				require.NotNil(t, s, k)
				distinct[*s] = true
			}
			rows, err := st.StageSamples(context.Background(), StageStrong)
			require.NoError(t, err)
			require.Len(t, rows, 12)
			for _, r := range rows {
				assert.Equal(t, "HostA", r.Upstream)
				assert.Equal(t, "thinking about it", r.Reasoning)
				assert.NotContains(t, r.Response, "thinking", "reasoning is never mixed into the response")
				if accepts {
					require.NotNil(t, r.Seed)
					assert.Equal(t, providers.SampleSeed(42, r.ProblemID, StageStrong, r.Sample), *r.Seed)
				} else {
					assert.Nil(t, r.Seed)
				}
			}
			if accepts {
				assert.Len(t, distinct, 14, "12 straight shots and 2 continuations, each its own seed")
			}
		})
	}
	assert.Equal(t, providers.SampleSeed(1, "p", "strong", 0), providers.SampleSeed(1, "p", "strong", 0), "deterministic")
	assert.NotEqual(t, providers.SampleSeed(1, "p", "strong", 0), providers.SampleSeed(2, "p", "strong", 0))
	assert.NotEqual(t, providers.SampleSeed(1, "p", "strong", 0), providers.SampleSeed(1, "p", "weak", 0))
}

// A run.db made before the seed, upstream and reasoning columns existed
// opens, gains them, and resumes.
func TestOldRunDatabaseGainsTheNewColumns(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, StoreFile))
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE samples (stage TEXT NOT NULL, problem_id TEXT NOT NULL, prefix TEXT NOT NULL DEFAULT '',
		sample INTEGER NOT NULL, model TEXT NOT NULL DEFAULT '', provider TEXT NOT NULL DEFAULT '', served_model TEXT NOT NULL DEFAULT '',
		request TEXT NOT NULL DEFAULT '', response TEXT NOT NULL DEFAULT '', finish_reason TEXT NOT NULL DEFAULT '',
		correct INTEGER NOT NULL DEFAULT 0, answer TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
		restarted INTEGER NOT NULL DEFAULT 0, restart_reason TEXT NOT NULL DEFAULT '', input_tokens INTEGER NOT NULL DEFAULT 0,
		output_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0, prefill_method TEXT NOT NULL DEFAULT '',
		latency_ms REAL NOT NULL DEFAULT 0, cached INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', at TEXT NOT NULL DEFAULT '',
		request_key TEXT NOT NULL DEFAULT '', saved_usd REAL NOT NULL DEFAULT 0, PRIMARY KEY (stage, problem_id, prefix, sample));
		INSERT INTO samples(stage, problem_id, sample, response) VALUES('strong', 'p0', 0, 'old')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	for range 2 { // idempotent
		st, err := OpenStore(dir)
		require.NoError(t, err)
		rows, err := st.StageSamples(context.Background(), StageStrong)
		require.NoError(t, err)
		require.NotEmpty(t, rows)
		assert.Equal(t, "old", rows[0].Response)
		assert.Nil(t, rows[0].Seed)
		require.NoError(t, st.PutSample(context.Background(), Sample{Stage: StageStrong, ProblemID: "p1", Sample: 0, Seed: providers.Int64(7), Upstream: "U", Reasoning: "R"}))
		require.NoError(t, st.Close())
	}
	st, err := OpenStore(dir)
	require.NoError(t, err)
	defer st.Close()
	rows, err := st.StageSamples(context.Background(), StageStrong)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, int64(7), *rows[1].Seed)
	assert.Equal(t, "U", rows[1].Upstream)
	assert.Equal(t, "R", rows[1].Reasoning)
}

func TestMaxTokensDefaultsTo4096(t *testing.T) {
	c := Config{}
	require.NoError(t, c.maxTokensDefault())
	assert.Equal(t, DefaultMaxTokens, c.MaxTokens)
	assert.Equal(t, 4096, DefaultMaxTokens)
	c.MaxTokens = -1
	assert.ErrorIs(t, c.maxTokensDefault(), ErrConfig)
}

// With the prefix inside the reasoning, restart detection reads the
// continued reasoning (Completion.Reasoning), and the verifier the answer.
func TestReasoningTargetChecksTheReasoningForRestarts(t *testing.T) {
	c := providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		assert.Equal(t, providers.PrefillTargetReasoning, req.PrefillTarget)
		return providers.Completion{Reasoning: "Let's solve this from scratch. What is 0 + 1? It is 1.", Text: "The answer is \\boxed{1}."}, nil
	})
	cs := &Continue{Model: "x:m", Completer: c, Verifier: exact, K: 1, PrefillTarget: providers.PrefillTargetReasoning}
	out, err := cs.Run(context.Background(), []PrefixResult{{Problem: probs(1)[0], Strategy: "weak", Prefix: perturb.Prefix{Text: "Step 1: 0 + 1 = 2\n"}}})
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.True(t, out[0].Samples[0].Restarted, "the reasoning started over: %+v", out[0].Samples[0])
	assert.True(t, out[0].Samples[0].Correct)
}
