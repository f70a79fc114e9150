package sim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/behaviour"
	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/mock"
	"github.com/rebound-lab/rebound/providers/sim"
	"github.com/rebound-lab/rebound/verify"
)

// labelled is one simulated continuation of an injected prefix, labelled by
// the rules and by the simulator's truth.
type labelled struct {
	truth sim.BehaviourTruth
	got   behaviour.Result
	text  string
}

func runInjected(t *testing.T, seed int64, problems []dataset.Problem, inj perturb.InjectError, k int) []labelled {
	t.Helper()
	cfg := sim.Strong()
	cfg.Seed = seed
	cfg.Behaviours = sim.DefaultBehaviours()
	s := sim.New(cfg, problems...)
	v := verify.NewMath()
	inj.Seed = seed
	var out []labelled
	for _, p := range problems {
		pre, err := inj.Perturb(context.Background(), p)
		if errors.Is(err, perturb.ErrTooShort) {
			continue
		}
		require.NoError(t, err)
		flaw := behaviour.FlawOf(pre, p)
		for j := range k {
			req := providers.Request{Messages: perturb.Prompt(p), Prefill: pre.Text, Sample: j}
			truth, ok := s.Behaviour(req)
			require.True(t, ok)
			if truth.Behaviour == "" {
				continue // the simulator read no gold value in the flaw
			}
			c, err := s.Complete(context.Background(), req)
			require.NoError(t, err)
			vd, err := v.Verify(context.Background(), p.Answer, pre.Text+c.Text)
			require.NoError(t, err)
			rs := providers.DetectRestart(p.Question, pre.Text, c.Text)
			got := behaviour.Classify(behaviour.Input{Continuation: c.Text, Flaw: flaw, Correct: vd.Correct,
				Restarted: rs.Restarted, Answer: vd.Answer, Reference: p.Answer})
			out = append(out, labelled{truth, got, c.Text})
		}
	}
	return out
}

// TestBehaviourLabelsAgreeWithTheSimulatorsTruth: on injected errors of
// every type and magnitude, the rule-based labels agree with the behaviour
// the simulator drew in at least 95 % of continuations.
func TestBehaviourLabelsAgreeWithTheSimulatorsTruth(t *testing.T) {
	problems := dataset.GSM8KTest()[:150]
	for _, inj := range []perturb.InjectError{
		{},
		{Magnitude: perturb.Small},
		{Magnitude: perturb.Large},
		{Type: perturb.ErrOperand},
		{Type: perturb.ErrScale},
		{Type: perturb.ErrOffByOne},
		{KeepAfter: 1},
	} {
		t.Run(fmt.Sprintf("%s/%s/keep%d", inj.Type, inj.Magnitude, inj.KeepAfter), func(t *testing.T) {
			rows := runInjected(t, 1, problems, inj, 4)
			require.Greater(t, len(rows), 300)
			agree := 0
			confusion := map[string]int{}
			for _, r := range rows {
				if string(r.got.Label) == r.truth.Behaviour {
					agree++
				} else {
					key := r.truth.Behaviour + "→" + string(r.got.Label)
					if confusion[key] == 0 {
						t.Logf("%s (%s): %q", key, r.got.Rule, r.text)
					}
					confusion[key]++
				}
			}
			rate := float64(agree) / float64(len(rows))
			t.Logf("agreement %d/%d = %.3f; disagreements %v", agree, len(rows), rate, confusion)
			assert.GreaterOrEqual(t, rate, 0.95)
		})
	}
}

// TestJudgeAgreementIsMeasuredOnInjectedRuns runs the optional LLM judge,
// with its real prompt, against a stand-in judge model that knows the
// simulator's truth but answers wrongly on a known tenth of the
// continuations, and measures its agreement with the rules. No real model
// is called: the figure for a real judge must be measured the same way
// with a real Completer (see the README).
func TestJudgeAgreementIsMeasuredOnInjectedRuns(t *testing.T) {
	problems := dataset.GSM8KTest()[:60]
	rows := runInjected(t, 2, problems, perturb.InjectError{}, 2)
	truthOf := map[string]string{}
	for _, r := range rows {
		truthOf[r.text] = r.truth.Behaviour
	}
	const marker = "THE MODEL'S CONTINUATION (may be truncated at the start):\n"
	flipped := 0
	judgeModel := mock.New(func(_ context.Context, req providers.Request) (providers.Completion, error) {
		p := req.Messages[0].Content
		i := strings.Index(p, marker)
		j := strings.Index(p, "\n\nTHE FINAL ANSWER")
		if i < 0 || j < i {
			return providers.Completion{Text: "unsure"}, nil
		}
		cont := p[i+len(marker) : j]
		label, ok := truthOf[cont]
		if !ok {
			return providers.Completion{Text: "unsure"}, nil
		}
		if len(cont)%10 == 3 { // a known tenth, by text length: answer wrongly
			label = sim.BehaviourOther
			if truthOf[cont] == sim.BehaviourOther {
				label = sim.BehaviourSilent
			}
		}
		return providers.Completion{Text: "**" + strings.ReplaceAll(label, "_", " ") + "**"}, nil
	})
	j := &behaviour.Judge{Completer: judgeModel}
	var rules, judged []behaviour.Label
	wantAgree := 0
	for _, r := range rows {
		expect := truthOf[r.text]
		if len(r.text)%10 == 3 {
			flipped++
			if expect == sim.BehaviourOther {
				expect = sim.BehaviourSilent
			} else {
				expect = sim.BehaviourOther
			}
		}
		if string(r.got.Label) == expect {
			wantAgree++
		}
		res, err := j.Classify(context.Background(), behaviour.JudgeInput{Question: "q", Prefix: "p",
			Input: behaviour.Input{Continuation: r.text, Correct: r.got.Label.Recovered()}})
		require.NoError(t, err)
		assert.Equal(t, "judge", res.Rule)
		assert.Equal(t, expect, string(res.Label), "the judge's reply is read back")
		rules = append(rules, r.got.Label)
		judged = append(judged, res.Label)
	}
	a, err := behaviour.Compare(rules, judged)
	require.NoError(t, err)
	t.Logf("judge vs rules on %d injected continuations: agreement %.3f, kappa %.3f (%d answered wrongly on purpose)",
		a.N, a.Rate(), a.Kappa, flipped)
	assert.Equal(t, len(rows), a.N)
	assert.Equal(t, wantAgree, a.Agree)
	assert.Less(t, a.Rate(), 0.97, "the wrong answers are seen")
	assert.Greater(t, a.Kappa, 0.7)
}
