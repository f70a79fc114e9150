package recovery

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/rebound-lab/rebound/estimate"
	"github.com/rebound-lab/rebound/providers"
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
	// USDPerCall prices a call (0: cost in calls only) when Stages is
	// empty or unpriced.
	USDPerCall float64
	// Stages, if any stage is Priced, price the plan from a provider price
	// table instead: each stage's planned calls × its tokens per call ×
	// its price (PilotStages reads them from a pilot).
	Stages []PlanStage
}

// PlanStage is one stage of a pilot (strong, weak, perturb, continue): the
// model that served it, its mean tokens per call, and its price from a
// provider price table.
type PlanStage struct {
	Stage string
	// Model is the stage's spec as recorded ("openai:gpt-4o"); several
	// models in one stage are reported as separate PlanStages.
	Model string
	// Calls and Problems are the pilot's calls in this stage and the
	// problems they were for (CallsPerProblem = Calls/Problems prices the
	// perturb stage, whose calls the plan does not otherwise count).
	Calls, Problems int
	// InputPerCall and OutputPerCall are mean tokens per call (calls that
	// failed without tokens excluded).
	InputPerCall, OutputPerCall float64
	// Price is the table's price for Model; Priced is false when the table
	// has none (the plan then says so and counts the stage at $0).
	Price  providers.Price
	Priced bool
}

// PilotStages reads a pilot's store: per stage and model, the calls, the
// mean input and output tokens per call, and the price of the model in
// table (a provider price table: providers.DefaultPrices or -prices).
func PilotStages(ctx context.Context, st *Store, table *providers.PriceTable) ([]PlanStage, error) {
	if err := st.Flush(ctx); err != nil {
		return nil, err
	}
	rows, err := st.db.QueryContext(ctx, `SELECT stage, model, COUNT(*), COUNT(DISTINCT problem_id),
		COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0)
		FROM samples WHERE NOT (error != '' AND input_tokens = 0 AND output_tokens = 0) GROUP BY stage, model`)
	if err != nil {
		return nil, fmt.Errorf("recovery: pilot tokens per stage: %w", err)
	}
	defer rows.Close()
	var out []PlanStage
	for rows.Next() {
		var ps PlanStage
		var in, outTok int64
		if err := rows.Scan(&ps.Stage, &ps.Model, &ps.Calls, &ps.Problems, &in, &outTok); err != nil {
			return nil, fmt.Errorf("recovery: pilot tokens per stage: %w", err)
		}
		if ps.Calls > 0 {
			ps.InputPerCall, ps.OutputPerCall = float64(in)/float64(ps.Calls), float64(outTok)/float64(ps.Calls)
		}
		if provider, model, err := providers.ParseSpec(ps.Model); err == nil {
			ps.Price, ps.Priced = table.Lookup(provider, model)
		}
		out = append(out, ps)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recovery: pilot tokens per stage: %w", err)
	}
	slices.SortFunc(out, func(a, b PlanStage) int {
		return strings.Compare(a.Stage+"\x00"+a.Model, b.Stage+"\x00"+b.Model)
	})
	return out, nil
}

// plannedCalls is a stage's calls per problem in the plan: the straight-shot
// samples, the continuations, or the pilot's rate for the perturb stage.
func (a PlanAssumptions) plannedCalls(ps PlanStage) float64 {
	switch ps.Stage {
	case StageStrong:
		return float64(a.Samples)
	case StageWeak:
		return float64(a.WeakSamples)
	case StageContinue:
		return float64(a.Strategies * a.K)
	}
	if ps.Problems == 0 {
		return 0
	}
	return float64(ps.Calls) / float64(ps.Problems)
}

func (a PlanAssumptions) priced() bool {
	return slices.ContainsFunc(a.Stages, func(ps PlanStage) bool { return ps.Priced })
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
	// Pricing says where USD came from: "price table" (per stage, tokens
	// per call × the provider price table), "pilot cost per call", or
	// "none".
	Pricing string
	// StageUSD is the priced plan's cost per stage and model ("continue
	// openai:gpt-4o"); nil unless Pricing is "price table".
	StageUSD map[string]float64
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
	p.Pricing = "pilot cost per call"
	if a.USDPerCall == 0 {
		p.Pricing = "none"
	}
	if a.priced() {
		p.Pricing, p.USD, p.StageUSD = "price table", 0, map[string]float64{}
		var unpriced []string
		for _, ps := range a.Stages {
			calls := a.plannedCalls(ps) * float64(p.Problems)
			if ps.Stage == StagePerturb {
				p.Calls += int(math.Round(calls))
			}
			if !ps.Priced {
				unpriced = append(unpriced, ps.Stage+" "+ps.Model)
				continue
			}
			// Fresh input throughout: a planned study's calls are new.
			usd := calls * (ps.InputPerCall*ps.Price.InputPerM + ps.OutputPerCall*ps.Price.OutputPerM) / 1e6
			p.StageUSD[ps.Stage+" "+ps.Model] += usd
			p.USD += usd
		}
		if len(unpriced) > 0 {
			p.Notes = append(p.Notes, "No price in the table for "+strings.Join(unpriced, ", ")+": counted at $0 (pass -prices FILE).")
		}
	}
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
	fmt.Fprintf(&b, "\nPlan: %d problems, %d calls, $%.2f (%s).\n", p.Problems, p.Calls, p.USD, p.pricingText())
	for _, k := range slices.Sorted(maps.Keys(p.StageUSD)) {
		fmt.Fprintf(&b, "  %s: $%.2f\n", k, p.StageUSD[k])
	}
	for _, n := range p.Notes {
		b.WriteString("\n" + n + "\n")
	}
	return b.String()
}

func (p StudyPlan) pricingText() string {
	switch p.Pricing {
	case "price table":
		return "priced from the provider price table: each stage's planned calls × the pilot's tokens per call"
	case "pilot cost per call":
		return "priced at the pilot's observed cost per call"
	}
	return "no prices"
}
