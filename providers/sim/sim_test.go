package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
)

// instruction mirrors perturb.Instruction (not imported, to keep this
// package's tests independent of perturb).
const instruction = "Solve the problem step by step, one step per line. " +
	"End with a final line of the form \"The answer is \\boxed{ANSWER}.\""

// ask builds the default prompt, as perturb.Prompt does.
func ask(p dataset.Problem, sample int, prefill string) providers.Request {
	return providers.Request{
		Messages: []providers.Message{{Role: providers.RoleUser, Content: p.Question + "\n\n" + instruction}},
		Sample:   sample,
		Prefill:  prefill,
	}
}

func boxed(t testing.TB, text string) string {
	t.Helper()
	a, ok := dataset.LastBoxed(text)
	require.True(t, ok, "no boxed answer in %q", text)
	return a
}

// within reports whether k successes of n are consistent with rate p: inside
// a ±z·σ band (plus one for discreteness).
func within(k, n int, p, z float64) bool {
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return math.Abs(float64(k)-mean) <= z*sd+1
}

func TestFreshSamplesArePassRateCorrect(t *testing.T) {
	ctx := context.Background()
	all := embedded()
	s := New(Strong(), all...)
	const n = 300
	// 30 problems of each source, spread across the file.
	var ps []dataset.Problem
	for i := 0; i < len(all); i += len(all) / 60 {
		ps = append(ps, all[i])
	}
	var totalK, totalN int
	var totalP float64
	for _, p := range ps {
		tr, ok := s.Truth(p.ID)
		require.True(t, ok)
		k := 0
		for i := range n {
			c, err := s.Complete(ctx, ask(p, i, ""))
			require.NoError(t, err)
			if boxed(t, c.Text) == strings.TrimSpace(p.Answer) {
				k++
			}
		}
		// z = 4.5: a false alarm over 60 problems has probability < 1e-3.
		assert.True(t, within(k, n, tr.PassRate, 4.5), "%s: %d/%d correct, true pass rate %.3f", p.ID, k, n, tr.PassRate)
		totalK += k
		totalN += n
		totalP += tr.PassRate * n
	}
	assert.True(t, within(totalK, totalN, totalP/float64(totalN), 3.5), "overall %d/%d, expected %.0f", totalK, totalN, totalP)
}

func TestTruthFollowsTheDocumentedMixture(t *testing.T) {
	all := embedded()
	for _, cfg := range []Config{Strong(), Weak()} {
		t.Run(cfg.Name, func(t *testing.T) {
			s := New(cfg, all...)
			rates := make([]float64, 0, len(all))
			for _, p := range all {
				tr, ok := s.Truth(p.ID)
				require.True(t, ok)
				require.InDelta(t, clamp01(cfg.RecoverBase+cfg.RecoverSlope*tr.PassRate), tr.RecoverRate, 1e-12)
				rates = append(rates, tr.PassRate)
			}
			sort.Float64s(rates)
			// Kolmogorov–Smirnov distance to the mixture CDF; the 1 % critical
			// value is 1.63/√n.
			d := 0.0
			for i, x := range rates {
				f := cfg.PassRate.CDF(x)
				d = math.Max(d, math.Max(math.Abs(f-float64(i)/float64(len(rates))), math.Abs(f-float64(i+1)/float64(len(rates)))))
			}
			assert.Less(t, d, 1.63/math.Sqrt(float64(len(rates))), "KS distance")
			// Bimodal: both ends are well populated.
			low := sort.SearchFloat64s(rates, 0.2)
			high := len(rates) - sort.SearchFloat64s(rates, 0.8)
			assert.Greater(t, low, len(rates)/8, "problems below 0.2")
			assert.Greater(t, high, len(rates)/8, "problems above 0.8")
		})
	}
}

func TestStrongAndWeakShareDifficulty(t *testing.T) {
	ps := embedded()[:300]
	strong, weak := New(Strong(), ps...), New(Weak(), ps...)
	for _, p := range ps {
		ts, _ := strong.Truth(p.ID)
		tw, _ := weak.Truth(p.ID)
		// Weak's mixture is stochastically smaller, and both use the same
		// quantile, so weak never beats strong (up to table interpolation).
		assert.LessOrEqual(t, tw.PassRate, ts.PassRate+1e-3, p.ID)
	}
	s2 := New(func() Config { c := Strong(); c.Seed = 7; return c }(), ps...)
	differ := 0
	for _, p := range ps {
		a, _ := strong.Truth(p.ID)
		b, _ := s2.Truth(p.ID)
		if a != b {
			differ++
		}
	}
	assert.Greater(t, differ, 290, "another seed draws other truths")
}

func TestSamplingIsDeterministic(t *testing.T) {
	ctx := context.Background()
	p := embedded()[5]
	s1, s2 := New(Strong(), p), New(Strong(), p)
	texts := map[string]bool{}
	for i := range 40 {
		a, err := s1.Complete(ctx, ask(p, i, ""))
		require.NoError(t, err)
		b, err := s2.Complete(ctx, ask(p, i, ""))
		require.NoError(t, err)
		assert.Equal(t, a.Text, b.Text, "sample %d", i)
		texts[a.Text] = true
	}
	assert.Greater(t, len(texts), 1, "samples differ")

	req := ask(p, 3, "")
	variants := 0
	for _, f := range []func(*providers.Request){
		func(r *providers.Request) { r.Temperature = providers.Float(0.7) },
		func(r *providers.Request) { r.Seed = providers.Int64(11) },
	} {
		r := req
		f(&r)
		seen := map[string]bool{}
		for i := range 20 {
			r.Sample = i
			c, _ := s1.Complete(ctx, r)
			again, _ := s1.Complete(ctx, r)
			assert.Equal(t, c.Text, again.Text)
			seen[c.Text] = true
		}
		if len(seen) > 1 {
			variants++
		}
	}
	assert.Equal(t, 2, variants)
}

func TestWrongSamplesHaveACorruptedStepAndAWrongAnswer(t *testing.T) {
	ctx := context.Background()
	all := embedded()
	cfg := Weak()
	cfg.PassRate = Mixture{{Weight: 1, Alpha: 1, Beta: 1e6}} // pass rates below 1.3e-4
	s := New(cfg, all...)
	corrupted, correct := 0, 0
	for _, p := range all {
		c, err := s.Complete(ctx, ask(p, 0, ""))
		require.NoError(t, err)
		a := boxed(t, c.Text)
		if a == strings.TrimSpace(p.Answer) {
			correct++
			continue
		}
		require.True(t, strings.HasSuffix(c.Text, "The answer is \\boxed{"+a+"}."))
		body := strings.TrimSuffix(c.Text, "The answer is \\boxed{"+a+"}.")
		if fl, _, _ := s.Flawed(p.ID, body); fl {
			corrupted++
		}
	}
	assert.LessOrEqual(t, correct, 2, "correct samples at pass rates < 1.3e-4")
	// Every solution with a number in a step has one corrupted; the few
	// without numbers can only be wrong in the final answer.
	assert.Greater(t, corrupted, len(all)*95/100, "wrong samples read as flawed")
}

func TestSolutionsAreOneStepPerLine(t *testing.T) {
	p := embedded()[2] // GSM8K: four lines with thousands separators and $.
	s := New(Strong(), p)
	g := s.goldOf(s.byID[p.ID])
	assert.Equal(t, []string{
		"The cost of the house and repairs came out to 80,000+50,000=$130,000",
		"He increased the value of the house by 80,000*1.5=120,000",
		"So the new value of the house is 120,000+80,000=$200,000",
		"So he made a profit of 200,000-130,000=$70,000",
	}, g.steps)
}

func TestGoldSteps(t *testing.T) {
	tests := []struct {
		name, solution string
		want           []string
	}{
		{"gsm8k annotations and answer line are dropped",
			"She eats 16 - 3 = <<16-3=13>>13 eggs.\nShe makes $<<13*2=26>>26.\n#### 26",
			[]string{"She eats 16 - 3 = 13 eggs.", "She makes $26."}},
		{"sentences split outside math, display math kept on one line",
			"We have $x = 2.$ Then\n\\[\ny = 3.\n\\] So $x+y = \\boxed{5}$.",
			[]string{"We have $x = 2.$", "Then \\[ y = 3. \\] So $x+y = 5$."}},
		{"a sentence ending inside inline math still ends",
			"So $a = 1.$  Hence $b = 2$.",
			[]string{"So $a = 1.$", "Hence $b = 2$."}},
		{"asy figures are dropped and a lead-in joins its display",
			"Draw it.\n[asy]\ndraw((0,0)--(1,1));\n[/asy]\nTherefore,\n\\begin{align*}\na &= 1 \\\\\nb &= 2\n\\end{align*}",
			[]string{"Draw it.", "Therefore, \\begin{align*} a &= 1 \\\\ b &= 2 \\end{align*}"}},
		{"nested braces in boxed are unwrapped",
			"The answer is $\\boxed{\\frac{1}{2}}$.",
			[]string{"The answer is $\\frac{1}{2}$."}},
		{"an empty solution has no steps", "  \n", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := goldSteps(tt.solution)
			if len(tt.want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestWrongAnswerDiffers(t *testing.T) {
	tests := []struct{ gold, want string }{
		{"18", "21"},
		{"1,000", "1003"},
		{"-4", "-7"},
		{"0.5", "3.5"},
		{"\\frac{14}{3}", "\\frac{17}{3}"},
		{"p - q", "p - q+1"},
		{"(C)", "(D)"},
		{"\\text{(E)}", "\\text{(A)}"},
		{"E", "A"},
	}
	for _, tt := range tests {
		t.Run(tt.gold, func(t *testing.T) {
			assert.Equal(t, tt.want, wrongAnswer(tt.gold, 3))
		})
	}
	assert.Equal(t, "15", wrongAnswer("18", -3))
	assert.Equal(t, "4", wrongAnswer("1", -3), "never negative for a positive answer")
}

func TestContinuingACleanPrefix(t *testing.T) {
	ctx := context.Background()
	p := embedded()[2]
	cfg := Strong()
	cfg.RestartProb = 0
	s := New(cfg, p)
	g := s.goldOf(s.byID[p.ID])
	prefix := g.steps[0] + "\n" + g.steps[1] + "\n"
	fl, done, ok := s.Flawed(p.ID, prefix)
	require.True(t, ok)
	assert.False(t, fl)
	assert.Equal(t, 2, done)
	tr, _ := s.Truth(p.ID)
	assert.Equal(t, tr.PassRate, s.ContinueProb(p.ID, prefix))

	const n = 2000
	k := 0
	for i := range n {
		c, err := s.Complete(ctx, ask(p, i, prefix))
		require.NoError(t, err)
		assert.Equal(t, providers.PrefillNative, c.PrefillMethod)
		// The continuation picks up at step 3, never repeating the prefix.
		require.True(t, strings.HasPrefix(c.Text, "So the new value of the house is"), c.Text)
		if boxed(t, c.Text) == p.Answer {
			k++
		}
	}
	assert.True(t, within(k, n, tr.PassRate, 4), "%d/%d vs %.3f", k, n, tr.PassRate)
}

func TestContinuingAFlawedPrefix(t *testing.T) {
	ctx := context.Background()
	all := embedded()
	cfg := Strong()
	cfg.RestartProb = 0.2
	s := New(cfg, all...)
	for _, p := range []dataset.Problem{all[2], all[40], all[1400]} {
		t.Run(p.ID, func(t *testing.T) {
			g := s.goldOf(s.byID[p.ID])
			// Corrupt the first step with a number, then cut after the next.
			var lines []string
			errAt := -1
			for i, st := range g.steps {
				if errAt < 0 && len(g.nums[i]) > 0 {
					ns := numbers(st)
					sp := resultSpan(st, ns)
					st = replaceNumber(st, sp, bump(sp.Value, 7))
					errAt = i
				}
				lines = append(lines, st)
				if errAt >= 0 && i > errAt {
					break
				}
			}
			require.GreaterOrEqual(t, errAt, 0)
			prefix := strings.Join(lines, "\n") + "\n"
			fl, done, _ := s.Flawed(p.ID, prefix)
			require.True(t, fl, prefix)
			assert.Equal(t, len(lines), done)
			tr, _ := s.Truth(p.ID)
			want := 0.2*tr.PassRate + 0.8*tr.RecoverRate
			assert.InDelta(t, want, s.ContinueProb(p.ID, prefix), 1e-12)

			const n = 3000
			k, restarts, detected, falseAlarms := 0, 0, 0, 0
			for i := range n {
				c, err := s.Complete(ctx, ask(p, i, prefix))
				require.NoError(t, err)
				correct := boxed(t, c.Text) == p.Answer
				if correct {
					k++
				}
				restarted := strings.HasPrefix(c.Text, "Let me start over.")
				if !restarted && i >= 600 {
					continue // DetectRestart is slow under -race; 600 honest ones suffice
				}
				det := providers.DetectRestart(p.Question, prefix, c.Text).Restarted
				if restarted {
					restarts++
					if det {
						detected++
					}
				} else {
					if det {
						falseAlarms++
					}
					if correct {
						assert.True(t, strings.HasPrefix(c.Text, "Wait,"), "a recovery says so: %q", c.Text)
					}
				}
			}
			assert.True(t, within(k, n, want, 4), "%d/%d vs %.3f", k, n, want)
			assert.True(t, within(restarts, n, 0.2, 4), "%d restarts of %d", restarts, n)
			assert.Equal(t, restarts, detected, "providers.DetectRestart flags every restart")
			assert.Zero(t, falseAlarms, "providers.DetectRestart flags no honest continuation")
		})
	}
}

func TestPrefixWithAForeignNumberIsFlawed(t *testing.T) {
	p := embedded()[0]
	s := New(Strong(), p)
	fl, _, _ := s.Flawed(p.ID, "Janet has 16 eggs and uses 7, leaving 977.\n")
	assert.True(t, fl)
	fl, done, _ := s.Flawed(p.ID, "Janet has 16 eggs; she uses 3 and 4.\n")
	assert.False(t, fl)
	assert.Equal(t, 1, done)
	fl, done, _ = s.Flawed(p.ID, "Step 1: Janet sells 16 - 3 - 4 = 9 duck eggs a day.\n")
	assert.False(t, fl, "step labels are ignored")
	assert.Equal(t, 1, done)
}

func TestUsageAndCost(t *testing.T) {
	ctx := context.Background()
	p := embedded()[0]
	cfg := Strong()
	price := providers.Price{InputPerM: 1, OutputPerM: 10}
	cfg.Price = &price
	s := New(cfg, p)
	req := ask(p, 0, "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\n")
	c, err := s.Complete(ctx, req)
	require.NoError(t, err)
	prompt := len(req.Messages[0].Content)
	assert.Equal(t, (prompt+3)/4+(len(req.Prefill)+3)/4, c.Usage.InputTokens)
	assert.Equal(t, (len(c.Text)+3)/4, c.Usage.OutputTokens)
	assert.True(t, c.CostKnown)
	assert.InDelta(t, price.Cost(c.Usage), c.CostUSD, 1e-15)
	assert.Positive(t, c.CostUSD)
	assert.NotContains(t, c.Text, "Janet sells 16 - 3 - 4", "Text is the continuation only")
	assert.Equal(t, "sim", c.Provider)
	assert.Equal(t, "strong", c.Model)
	assert.Equal(t, "stop", c.FinishReason)

	free := New(Strong(), p)
	c, err = free.Complete(ctx, req)
	require.NoError(t, err)
	assert.True(t, c.CostKnown)
	assert.Zero(t, c.CostUSD)

	req.MaxTokens = 3
	c, err = free.Complete(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "length", c.FinishReason)
	assert.Len(t, c.Text, 12)
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	blank := dataset.Problem{ID: "blank", Question: "Part one.\n\nPart two: what is 2+2?", Answer: "4", Solution: "2+2=4"}
	short := dataset.Problem{ID: "short", Question: "What is 2+2?", Answer: "4"}
	longer := dataset.Problem{ID: "longer", Question: "What is 2+2? Then add 1.", Answer: "5"}
	s := New(Strong(), blank, short, longer)
	for _, tt := range []struct{ name, content, want string }{
		{"the default prompt", blank.Question + "\n\n" + instruction, "4"},
		{"the bare question", "  " + short.Question + "\n", "4"},
		{"another instruction after a blank line", longer.Question + "\n\nThink hard.", "5"},
		{"an instruction without a blank line, longest question wins", longer.Question + " Answer in a box.", "5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.Complete(ctx, providers.Request{Messages: []providers.Message{
				{Role: providers.RoleSystem, Content: "You are good at math."},
				{Role: providers.RoleUser, Content: tt.content},
			}})
			require.NoError(t, err)
			assert.Contains(t, c.Text, "\\boxed{")
		})
	}

	_, err := s.Complete(ctx, providers.Request{Messages: []providers.Message{{Role: providers.RoleUser, Content: strings.Repeat("Unknown question about trains. ", 5)}}})
	require.ErrorIs(t, err, ErrUnknownProblem)
	assert.Contains(t, err.Error(), `"Unknown question about trains. Unknown question about trains"`)

	_, err = s.Complete(ctx, providers.Request{Messages: []providers.Message{{Role: providers.RoleSystem, Content: "hi"}}})
	require.ErrorIs(t, err, ErrNoQuestion)

	_, ok := s.Truth("nope")
	assert.False(t, ok)
	assert.True(t, math.IsNaN(s.ContinueProb("nope", "")))
}

func TestTeachReplacesByID(t *testing.T) {
	ctx := context.Background()
	s := New(Strong(), dataset.Problem{ID: "a", Question: "Old question?", Answer: "1"})
	s.Teach(dataset.Problem{ID: "a", Question: "New question?", Answer: "2"})
	assert.Equal(t, 1, s.Len())
	_, err := s.Complete(ctx, providers.Request{Messages: []providers.Message{{Role: "user", Content: "Old question?"}}})
	assert.ErrorIs(t, err, ErrUnknownProblem)
	c, err := s.Complete(ctx, providers.Request{Messages: []providers.Message{{Role: "user", Content: "New question?"}}})
	require.NoError(t, err)
	assert.Contains(t, c.Text, "\\boxed{")
}

func TestLatencyHonoursContext(t *testing.T) {
	p := embedded()[0]
	cfg := Strong()
	cfg.Latency = time.Hour
	s := New(cfg, p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.Complete(ctx, ask(p, 0, ""))
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = New(Strong(), p).Complete(cancelled, ask(p, 0, ""))
	assert.ErrorIs(t, err, context.Canceled)
}

func TestConcurrentTeachAndComplete(t *testing.T) {
	ctx := context.Background()
	all := embedded()[:200]
	s := New(Strong(), all[:100]...)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, p := range all[100:] {
			s.Teach(p)
		}
	}()
	errs := make([]error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, p := range all[:100] {
				if _, err := s.Complete(ctx, ask(p, i+w, "")); err != nil {
					errs[w] = err
					return
				}
				_ = s.ContinueProb(p.ID, "x")
			}
		}()
	}
	wg.Wait()
	assert.NoError(t, errors.Join(errs...))
	assert.Equal(t, 200, s.Len())
}

func TestOpenRegisteredPresets(t *testing.T) {
	ctx := context.Background()
	for _, model := range []string{"strong", "weak"} {
		c, err := providers.Open("sim:" + model)
		require.NoError(t, err)
		ep := providers.EndpointOf(c)
		assert.Equal(t, "sim", ep.Provider)
		assert.Contains(t, ep.BaseURL, model)
		p := dataset.MATH500()[0]
		out, err := c.Complete(ctx, ask(p, 0, ""))
		require.NoError(t, err)
		assert.Equal(t, model, out.Model)
		s := c.(*Solver)
		assert.Equal(t, 1319+500, s.Len())
	}
	_, err := providers.Open("sim:medium")
	assert.ErrorContains(t, err, `unknown model "medium" (known: strong, weak)`)
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no mixture":      {},
		"zero alpha":      {PassRate: Mixture{{Weight: 1, Alpha: 0, Beta: 1}}},
		"restart above 1": func() Config { c := Strong(); c.RestartProb = 1.5; return c }(),
	} {
		t.Run(name, func(t *testing.T) {
			assert.Panics(t, func() { New(cfg) })
		})
	}
}

func BenchmarkCompleteFresh(b *testing.B) {
	ctx := context.Background()
	all := embedded()
	s := New(Strong(), all...)
	reqs := make([]providers.Request, len(all))
	for i, p := range all {
		reqs[i] = ask(p, 0, "")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := reqs[i%len(reqs)]
		r.Sample = i
		if _, err := s.Complete(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompletePrefill(b *testing.B) {
	ctx := context.Background()
	all := embedded()
	s := New(Strong(), all...)
	reqs := make([]providers.Request, len(all))
	for i, p := range all {
		c, err := s.Complete(ctx, ask(p, 1, ""))
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = ask(p, 0, c.Text[:len(c.Text)/2])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := reqs[i%len(reqs)]
		r.Sample = i
		if _, err := s.Complete(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTeach10k measures teaching 10,000 problems (truth drawn eagerly,
// solutions parsed on first use).
func BenchmarkTeach10k(b *testing.B) {
	all := embedded()
	ps := make([]dataset.Problem, 10000)
	for i := range ps {
		p := all[i%len(all)]
		p.ID = fmt.Sprintf("%s#%d", p.ID, i)
		p.Question = fmt.Sprintf("(%d) %s", i, p.Question)
		ps[i] = p
	}
	b.ReportAllocs()
	for b.Loop() {
		New(Strong(), ps...)
	}
}

// BenchmarkRun10kx5 runs the straight-shot stage's load on the simulator:
// 10,000 problems × 5 samples, 8 goroutines, keeping only verdict counts as
// a harness would. It reports the peak heap in MB (sampled after each
// problem) as heap-MB.
func BenchmarkRun10kx5(b *testing.B) {
	all := embedded()
	ps := make([]dataset.Problem, 10000)
	for i := range ps {
		p := all[i%len(all)]
		p.ID = fmt.Sprintf("%s#%d", p.ID, i)
		p.Question = fmt.Sprintf("(%d) %s", i, p.Question)
		ps[i] = p
	}
	all = nil
	b.ReportAllocs()
	for b.Loop() {
		s := New(Strong(), ps...)
		var peak atomic.Uint64
		var wg sync.WaitGroup
		next := atomic.Int64{}
		correct := atomic.Int64{}
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var ms runtime.MemStats
				for {
					i := int(next.Add(1) - 1)
					if i >= len(ps) {
						return
					}
					for k := range 5 {
						c, err := s.Complete(context.Background(), ask(ps[i], k, ""))
						if err != nil {
							b.Error(err)
							return
						}
						if strings.HasSuffix(c.Text, "{"+ps[i].Answer+"}.") {
							correct.Add(1)
						}
					}
					if i%500 == 0 {
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > peak.Load() {
							peak.Store(ms.HeapInuse)
						}
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(peak.Load())/(1<<20), "heap-MB")
		b.ReportMetric(float64(correct.Load())/50000, "pass-rate")
	}
}

// TestRestartsAreDetectable measures providers.DetectRestart on the
// simulator's continuations of every embedded problem with at least two
// steps, cut after half its steps: every "start over" must be flagged and
// almost no honest continuation.
func TestRestartsAreDetectable(t *testing.T) {
	if testing.Short() {
		t.Skip("DetectRestart over 1,800 problems; slow under -race")
	}
	ctx := context.Background()
	all := embedded()
	always, never := Strong(), Strong()
	always.RestartProb, never.RestartProb = 1, 0
	sa, sn := New(always, all...), New(never, all...)
	n, missed, falseAlarms := 0, 0, 0
	var examples []string
	for _, p := range all {
		g := sa.goldOf(sa.byID[p.ID])
		if len(g.steps) < 2 {
			continue
		}
		n++
		prefix := strings.Join(g.steps[:(len(g.steps)+1)/2], "\n") + "\n"
		c, err := sa.Complete(ctx, ask(p, 0, prefix))
		require.NoError(t, err)
		if !providers.DetectRestart(p.Question, prefix, c.Text).Restarted {
			missed++
		}
		c, err = sn.Complete(ctx, ask(p, 0, prefix))
		require.NoError(t, err)
		if r := providers.DetectRestart(p.Question, prefix, c.Text); r.Restarted {
			falseAlarms++
			if len(examples) < 3 {
				examples = append(examples, p.ID+": "+r.Reason)
			}
		}
	}
	t.Logf("%d problems: %d restarts missed, %d honest continuations flagged %v", n, missed, falseAlarms, examples)
	assert.Zero(t, missed)
	assert.LessOrEqual(t, falseAlarms*100, n*2, "false alarms above 2 %%: %v", examples)
}

func TestOpenOptions(t *testing.T) {
	c, err := providers.Open("sim:weak?seed=3&restart=0.5&latency=1ms&scale=3&price=openai:gpt-4o-mini")
	require.NoError(t, err)
	cfg := c.(*Solver).Config()
	assert.Equal(t, "weak", cfg.Name)
	assert.EqualValues(t, 3, cfg.Seed)
	assert.Equal(t, 0.5, cfg.RestartProb)
	assert.Equal(t, time.Millisecond, cfg.Latency)
	assert.Equal(t, 3.0, cfg.OutputScale)
	require.NotNil(t, cfg.Price)
	want, ok := providers.DefaultPrices().Lookup("openai", "gpt-4o-mini")
	require.True(t, ok)
	assert.Equal(t, want, *cfg.Price)
	out, err := c.Complete(context.Background(), ask(dataset.GSM8KTest()[0], 0, ""))
	require.NoError(t, err)
	assert.InDelta(t, want.Cost(out.Usage), out.CostUSD, 1e-15)
	assert.InDelta(t, 3*float64(len(out.Text))/4, float64(out.Usage.OutputTokens), 4, "output tokens scaled")
	other, _ := providers.Open("sim:weak")
	assert.NotEqual(t, providers.EndpointOf(other), providers.EndpointOf(c), "the seed is part of the endpoint")

	for spec, want := range map[string]string{
		"sim:strong?seed=x":            `option seed="x"`,
		"sim:strong?restart=2":         `option restart="2": want a probability`,
		"sim:strong?latency=soon":      `option latency="soon"`,
		"sim:strong?scale=-1":          `option scale="-1": want a non-negative number`,
		"sim:strong?price=nobody:none": `no known price for nobody:none`,
		"sim:strong?price=gpt":         `want provider:model`,
		"sim:strong?colour=blue":       `unknown option (known: seed, restart, latency, scale, price`,
		"sim:strong?%zz":               `options:`,
	} {
		_, err := providers.Open(spec)
		assert.ErrorContains(t, err, want, spec)
	}
}

// TestCorrectPrefixesReadClean cuts a correct sample of every embedded
// problem after each step and in the middle of its text: none may be read
// as flawed, and a cut after k whole steps is read as k steps done.
func TestCorrectPrefixesReadClean(t *testing.T) {
	ctx := context.Background()
	all := embedded()
	right := Strong()
	right.PassRate = Mixture{{Weight: 1, Alpha: 1e6, Beta: 1}}
	s := New(right, all...)
	var bad []string
	for _, p := range all {
		c, err := s.Complete(ctx, ask(p, 0, ""))
		require.NoError(t, err)
		lines := strings.Split(c.Text, "\n")
		lines = lines[:len(lines)-1] // drop the answer line
		for k := 1; k <= len(lines); k++ {
			prefix := strings.Join(lines[:k], "\n") + "\n"
			fl, done, _ := s.Flawed(p.ID, prefix)
			if fl || done != k {
				bad = append(bad, fmt.Sprintf("%s cut after %d: flawed=%v done=%d", p.ID, k, fl, done))
			}
		}
		if fl, _, _ := s.Flawed(p.ID, c.Text[:len(c.Text)/2]); fl {
			bad = append(bad, p.ID+" cut mid-text read as flawed")
		}
	}
	assert.Empty(t, bad)
}

func TestQuantileTableInvertsTheMixture(t *testing.T) {
	for _, cfg := range []Config{Strong(), Weak()} {
		q := quantiles(cfg.PassRate, quantGrid)
		worst := 0.0
		for i, x := range q {
			worst = math.Max(worst, math.Abs(cfg.PassRate.CDF(x)-float64(i)/quantGrid))
			if i > 0 {
				require.GreaterOrEqual(t, x, q[i-1], "monotone")
			}
		}
		assert.Less(t, worst, 1e-3, cfg.Name)
		assert.InDelta(t, cfg.PassRate.Mean(), meanOf(q), 2e-3, "the table's mean is the mixture's")
	}
}

func meanOf(q []float64) float64 {
	s := 0.0
	for i := 1; i < len(q); i++ {
		s += (q[i] + q[i-1]) / 2
	}
	return s / float64(len(q)-1)
}
