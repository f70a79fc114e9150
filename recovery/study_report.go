package recovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Study output files written by WriteStudy into the study directory.
const (
	StudyMD   = "study.md"
	StudyJSON = "study.json"
)

// WriteJSON writes r as indented study.json.
func (r StudyResult) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadStudy reads a study.json written by WriteJSON.
func ReadStudy(rd io.Reader) (StudyResult, error) {
	var r StudyResult
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return StudyResult{}, fmt.Errorf("recovery: study.json: byte %d: %w", se.Offset, err)
		}
		return StudyResult{}, fmt.Errorf("recovery: study.json: %w", err)
	}
	return r, nil
}

func studyCI(c [2]Rate) string {
	if !c[0].Defined() || !c[1].Defined() {
		return "–"
	}
	return fmt.Sprintf("[%s, %s]", c[0], c[1])
}

func signed(r Rate) string {
	if !r.Defined() {
		return "–"
	}
	return fmt.Sprintf("%+.3f", float64(r))
}

// Markdown renders study.md: per-model rates per strategy and bucket, the
// paired differences, cost, and links to each model's report and the
// study plots.
func (r StudyResult) Markdown(title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	c := r.Comparison
	fmt.Fprintf(&b, "%d strong models. Buckets: %s. Intervals are %.0f %%.\n\n", len(r.Models), binningText(c.Binning), c.Level*100)
	b.WriteString("| model | directory | paid calls | USD |\n|---|---|---:|---:|\n")
	for _, m := range r.Models {
		fmt.Fprintf(&b, "| %s | [%s](%s/report.md) | %d | %.4f |\n", m.Model, m.Dir, filepath.ToSlash(m.Dir), m.Summary.Paid.Calls, m.Summary.Paid.USD)
	}
	fmt.Fprintf(&b, "| shared stage (weak calibration, shared prefixes) | shared | %d | %.4f |\n\n", r.SharedCost.Calls, r.SharedCost.USD)

	for _, st := range c.strategies() {
		fmt.Fprintf(&b, "## Strategy %s\n\n", st)
		b.WriteString("| model | observed bucket | problems | pass rate (CI) | continuations | recovery (CI) | normalized (CI) |\n|---|---|---:|---|---:|---|---|\n")
		for _, m := range c.Models {
			for _, row := range m.Rows {
				if row.Strategy != st {
					continue
				}
				fmt.Fprintf(&b, "| %s | %s | %d | %s %s | %d | %s %s | %s %s |\n", m.Model, row.Bucket, row.Problems,
					row.PassRate, studyCI(row.PassRateCI), row.Continuations, row.Recovery, studyCI(row.RecoveryCI), row.Normalized, studyCI(row.NormalizedCI))
			}
		}
		b.WriteString("\n")
		writeLatentTable(&b, c, st)
		var ps []PairedDifference
		for _, p := range c.Paired {
			if p.Strategy == st {
				ps = append(ps, p)
			}
		}
		if len(ps) > 0 {
			b.WriteString("### Paired differences (same prefixes)\n\n| A − B | bucket | paired problems | recovery A | recovery B | difference (paired CI) | independent-runs CI | width ratio |\n|---|---|---:|---:|---:|---|---|---:|\n")
			for _, p := range ps {
				fmt.Fprintf(&b, "| %s − %s | %s | %d | %s | %s | %s %s | %s | %s |\n", p.A, p.B, p.Bucket, p.Problems, p.RecoveryA, p.RecoveryB,
					signed(p.Diff), studyCI(p.DiffCI), studyCI(p.IndependentCI), p.WidthRatio)
				if p.Unpaired > 0 {
					fmt.Fprintf(&b, "| ⚠ %d problems had different prefix texts for the two models and are left out | | | | | | | |\n", p.Unpaired)
				}
			}
			b.WriteString("\n")
		}
	}
	rates := "Pass rate is the model's pooled straight-shot rate Σk/Σn over the bucket's problems (with adaptive sampling this " +
		"differs from report.md's mean of per-problem rates). Recovery is the share of verified continuations whose full " +
		"trace reaches the answer. Pass-rate and recovery intervals are clustered by problem (ClusterCI: CR2 variance, " +
		"Bell–McCaffrey degrees of freedom, Wilson at the effective sample size); normalized recovery (recovery ÷ pass rate) has a delta-method interval clustered by problem. "
	if c.hasLatent() {
		rates = "Pass rate is the mean posterior pass rate of the bucket's problems under the prior fitted to the model's own " +
			"straight-shot counts (as in report.md: the pooled k/n of problems the same samples put in a bucket would read 0 in hard " +
			"and 1 in easy), with a cluster-bootstrap interval over problems that refits the prior. Recovery is the share of verified " +
			"continuations whose full trace reaches the answer, with an interval clustered by problem (ClusterCI: CR2 variance, " +
			"Bell–McCaffrey degrees of freedom, Wilson at the effective sample size). Normalized recovery divides recovery by the " +
			"posterior pass rate of the same problems it continued (not of every problem in the bucket), with a cluster-bootstrap interval. "
	}
	b.WriteString("## Method\n\n" + rates +
		"A paired difference is A's recovery minus B's over the problems whose prefix text both continued (shared strategies " +
		"only), with a cluster-robust interval of the difference (PairedDiffCI); the independent-runs interval adds the two " +
		"variances without their covariance, which is what two separate runs would report. Width ratio = paired ÷ independent. " +
		"Observed buckets are assigned from each model's own straight-shot samples (or the reference model's); " +
		"under reference binning the reference model's own per-bucket pass rates are biased toward the bucket that " +
		"chose them (the same samples picked the bucket), the other models' are not. " + latentMethod + "\n\n")
	plots := []string{PlotStudyRecoveryVsPass, PlotStudyRecoveryByBucket, PlotStudyPaired}
	if c.hasLatent() {
		plots = append(plots, PlotStudyLatent)
	}
	for _, p := range plots {
		fmt.Fprintf(&b, "![%s](%s.svg)\n\n", strings.ReplaceAll(p, "_", " "), p)
	}
	return b.String()
}

func binningText(b string) string {
	if ref, ok := strings.CutPrefix(b, "reference:"); ok {
		return "every model binned by " + ref + "'s straight-shot calibration (common buckets)"
	}
	return "each model's own straight-shot calibration (buckets differ between models; paired differences are overall only)"
}

func (c Comparison) strategies() []string {
	var out []string
	for _, m := range c.Models {
		for _, r := range m.Rows {
			if !slices.Contains(out, r.Strategy) {
				out = append(out, r.Strategy)
			}
		}
	}
	slices.Sort(out)
	return out
}

// WriteStudy writes study.md, study.json and the study plots into dir.
func WriteStudy(dir, title string, r StudyResult) error {
	write := func(name string, fn func(io.Writer) error) error {
		return writeAtomic(filepath.Join(dir, name), fn)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("recovery: study directory %s: %w", dir, err)
	}
	if err := write(StudyJSON, r.WriteJSON); err != nil {
		return err
	}
	if err := write(StudyMD, func(w io.Writer) error {
		_, err := io.WriteString(w, r.Markdown(title))
		return err
	}); err != nil {
		return err
	}
	return WriteStudyPlots(dir, r)
}
