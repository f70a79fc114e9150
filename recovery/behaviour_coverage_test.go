package recovery

import (
	"context"
	"errors"
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

// TestBehaviourRateIntervalsCoverTheTruth replicates a simulated
// injected-error experiment with known behaviour probabilities many times
// (each replication a different seed: different steps corrupted, different
// wrong values, different draws) and checks that each behaviour's rate,
// computed from the rule-based labels with ClusterCI clustered by problem,
// covers the simulator's population probability in at least 93 % of the
// replications. Two cells of the magnitude × position table are tested;
// the truth is the table's entry, the same for every prefix of the cell
// (prefixes the simulator reads in another cell are left out, a choice
// that depends on the prefix only, never on the continuation).
func TestBehaviourRateIntervalsCoverTheTruth(t *testing.T) {
	const reps = 40
	problems, k := dataset.GSM8KTest()[:80], 4
	if raceDetector {
		problems, k = problems[:40], 3 // still 40 replications, fewer clusters each
	}
	v := verify.NewMath()
	type cell struct {
		inj perturb.InjectError
		mag perturb.Magnitude
		pos perturb.Position
	}
	cells := []cell{
		{perturb.InjectError{Magnitude: perturb.Large, Position: perturb.Early}, perturb.Large, perturb.Early},
		{perturb.InjectError{Magnitude: perturb.Small, Position: perturb.Late}, perturb.Small, perturb.Late},
	}
	covered := map[behaviour.Label]int{}
	total := map[behaviour.Label]int{}
	agree, labelled, kept, built := 0, 0, 0, 0
	for rep := range reps {
		seed := int64(1000 + rep)
		cfg := sim.Strong()
		cfg.Seed = seed
		cfg.Behaviours = sim.DefaultBehaviours()
		s := sim.New(cfg, problems...)
		for _, c := range cells {
			inj := c.inj
			inj.Seed = seed
			y := map[behaviour.Label][]int{}
			var m []int
			var truth sim.Mix
			for _, p := range problems {
				pre, err := inj.Perturb(context.Background(), p)
				if errors.Is(err, perturb.ErrTooShort) {
					continue
				}
				require.NoError(t, err)
				built++
				flaw := behaviour.FlawOf(pre, p)
				counts := map[behaviour.Label]int{}
				n := 0
				for j := range k {
					req := providers.Request{Messages: perturb.Prompt(p), Prefill: pre.Text, Sample: j}
					tr, _ := s.Behaviour(req)
					if tr.Behaviour == "" || tr.Flaw.Magnitude != c.mag || tr.Flaw.Position != c.pos {
						break // the simulator reads this prefix in another cell
					}
					truth = tr.Probs
					comp, err := s.Complete(context.Background(), req)
					require.NoError(t, err)
					vd, err := v.Verify(context.Background(), p.Answer, pre.Text+comp.Text)
					require.NoError(t, err)
					rs := providers.DetectRestart(p.Question, pre.Text, comp.Text)
					got := behaviour.Classify(behaviour.Input{Continuation: comp.Text, Flaw: flaw, Correct: vd.Correct,
						Restarted: rs.Restarted, Answer: vd.Answer, Reference: p.Answer})
					counts[got.Label]++
					n++
					labelled++
					if string(got.Label) == tr.Behaviour {
						agree++
					}
				}
				if n == 0 {
					continue
				}
				kept++
				m = append(m, n)
				for _, l := range behaviour.Labels {
					y[l] = append(y[l], counts[l])
				}
			}
			require.Greater(t, len(m), 20, "prefixes in cell %s/%s", c.mag, c.pos)
			for _, l := range behaviour.Labels {
				lo, hi := ClusterCI(y[l], m, 0.95)
				p := truth.Prob(string(l))
				total[l]++
				if lo <= p && p <= hi {
					covered[l]++
				}
			}
		}
	}
	t.Logf("%d replications × %d cells; %d of %d prefixes in their cell; label agreement %d/%d = %.4f",
		reps, len(cells), kept, built, agree, labelled, float64(agree)/float64(labelled))
	for _, l := range behaviour.Labels {
		rate := float64(covered[l]) / float64(total[l])
		t.Logf("%s: covered %d/%d = %.3f", l, covered[l], total[l], rate)
		assert.GreaterOrEqual(t, rate, 0.93, "%s interval coverage", l)
	}
	assert.GreaterOrEqual(t, float64(agree)/float64(labelled), 0.95)
}
