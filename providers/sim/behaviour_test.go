package sim_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/behaviour"
	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
	"github.com/rebound-lab/rebound/providers"
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
