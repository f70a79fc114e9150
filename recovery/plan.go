package recovery

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/rebound-lab/rebound/estimate"
)

// PlanBucket is what a study plan assumes about one bucket: its share of
// the problems, its recovery rate and the intra-class correlation of its
// continuations.
type PlanBucket struct {
	Name  string
	Share float64 // of all problems, in (0, 1]
	Rate  float64 // recovery rate
	ICC   float64 // of a problem's continuations, in [0, 1]
}

// PlanAssumptions are PlanStudy's inputs: from a pilot (PilotAssumptions)
// or stated.
type PlanAssumptions struct {
	Buckets []PlanBucket
	// K is continuations per prefix; Samples and WeakSamples the
	// straight-shot samples per problem (for the cost only: they do not
	// narrow recovery intervals); Strategies the prefixes per problem.
	K, Samples, WeakSamples, Strategies int
	// HalfWidth is the target 95 % half-width of each bucket's recovery
	// interval; Delta, if positive, a difference in recovery between two
	// buckets (or strategies) to detect at Power (default 0.8).
	HalfWidth, Delta, Power float64
	// USDPerCall prices a call (0: cost in calls only).
	USDPerCall float64
}

// PlanRow is one bucket's line of a StudyPlan.
type PlanRow struct {
	Bucket string
	// Problems is the bucket's problems needed for HalfWidth (or Delta,
	// whichever needs more); Total the study size that yields them at the
	// bucket's share.
	Problems, Total int
	// HalfWidth and MinDetectable are what the whole plan achieves here.
	HalfWidth, MinDetectable float64
}

// StudyPlan answers "how many problems do I need?".
type StudyPlan struct {
	Rows []PlanRow
	// Problems is the study size: the largest Total.
	Problems int
	Calls    int
	USD      float64
	// Notes explain the arithmetic (e.g. that more samples do not help).
	Notes []string
}

// PilotAssumptions reads a pilot run's summary into plan assumptions:
// bucket shares, recovery rates and ICCs (0.2 where the pilot could not
// estimate one, a typical value), continuations and straight-shot samples
// per problem, and the cost per call.
func PilotAssumptions(s Summary, samples, weakSamples int) (PlanAssumptions, error) {
	a := PlanAssumptions{Samples: samples, WeakSamples: weakSamples, Strategies: max(1, len(s.ByStrategy))}
	total := 0
	for _, b := range s.Buckets {
		total += b.Problems
	}
	if total == 0 {
		return a, errors.New("recovery: the pilot has no problems to plan from")
	}
	for _, b := range s.Buckets {
		if b.Problems == 0 {
			continue
		}
		pb := PlanBucket{Name: b.Name, Share: float64(b.Problems) / float64(total), Rate: 0.5, ICC: 0.2}
		if b.RecoveryRate.Defined() {
			pb.Rate = float64(b.RecoveryRate)
		}
		if b.ICC.Defined() {
			pb.ICC = float64(b.ICC)
		}
		a.Buckets = append(a.Buckets, pb)
	}
	if n := s.Overall.ContinuedProblems; n > 0 {
		a.K = max(1, int(math.Round(float64(s.Overall.Continuations)/float64(n)/float64(a.Strategies))))
	}
	if s.Cost.Calls > 0 {
		a.USDPerCall = s.Cost.USD / float64(s.Cost.Calls)
	}
	return a, nil
}

// PlanStudy computes the problems × samples × continuations that reach the
// target half-width in every bucket (and, with Delta, detect that
// difference between two buckets of the sizes planned), and the cost.
func PlanStudy(a PlanAssumptions) (StudyPlan, error) {
	if len(a.Buckets) == 0 {
		return StudyPlan{}, errors.New("recovery: PlanStudy needs at least one bucket")
	}
	if a.K <= 0 {
		a.K = DefaultSamples
	}
	if a.Strategies <= 0 {
		a.Strategies = 1
	}
	if a.Power <= 0 {
		a.Power = 0.8
	}
	if !(a.HalfWidth > 0) && !(a.Delta > 0) {
		return StudyPlan{}, errors.New("recovery: PlanStudy needs a target half-width or a difference Δ to detect (e.g. -plan-halfwidth 0.05)")
	}
	var p StudyPlan
	for _, b := range a.Buckets {
		if !(b.Share > 0 && b.Share <= 1) {
			return StudyPlan{}, fmt.Errorf("recovery: PlanStudy bucket %q share %v: want (0, 1]", b.Name, b.Share)
		}
		d := estimate.Design{K: a.K, Rate: b.Rate, ICC: b.ICC}
		need := 2
		if a.HalfWidth > 0 {
			need = max(need, estimate.ProblemsFor(d, a.HalfWidth, 0.95))
		}
		if a.Delta > 0 {
			lo, hi := 2, 10_000_000
			for lo < hi {
				mid := (lo + hi) / 2
				d.Problems = mid
				if estimate.MinDetectable(d, d, 0.95, a.Power) <= a.Delta {
					hi = mid
				} else {
					lo = mid + 1
				}
			}
			need = max(need, lo)
		}
		p.Rows = append(p.Rows, PlanRow{Bucket: b.Name, Problems: need, Total: int(math.Ceil(float64(need) / b.Share))})
		p.Problems = max(p.Problems, p.Rows[len(p.Rows)-1].Total)
	}
	for i, b := range a.Buckets {
		d := estimate.Design{Problems: int(math.Floor(float64(p.Problems) * b.Share)), K: a.K, Rate: b.Rate, ICC: b.ICC}
		p.Rows[i].HalfWidth = d.HalfWidth(0.95)
		p.Rows[i].MinDetectable = estimate.MinDetectable(d, d, 0.95, a.Power)
	}
	perProblem := a.Samples + a.WeakSamples + a.Strategies*a.K
	p.Calls = p.Problems * perProblem
	p.USD = float64(p.Calls) * a.USDPerCall
	p.Notes = append(p.Notes,
		"Straight-shot samples per problem do not enter a recovery interval; continuations per problem help only until "+
			"(K−1)·ICC dominates 1. Only more problems narrow recovery intervals.")
	return p, nil
}

// String renders the plan as a Markdown table with its cost.
func (p StudyPlan) String() string {
	var b strings.Builder
	b.WriteString("| bucket | problems needed | study size | half-width at plan | minimum detectable Δ at plan |\n|---|---:|---:|---:|---:|\n")
	for _, r := range p.Rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %.3f | %.3f |\n", r.Bucket, r.Problems, r.Total, r.HalfWidth, r.MinDetectable)
	}
	fmt.Fprintf(&b, "\nPlan: %d problems, %d calls, $%.2f.\n", p.Problems, p.Calls, p.USD)
	for _, n := range p.Notes {
		b.WriteString("\n" + n + "\n")
	}
	return b.String()
}
