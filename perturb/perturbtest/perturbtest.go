// Package perturbtest checks that a perturb.Perturber keeps the promises
// every strategy must keep, so a user's own strategy can be tested against
// mock completers before any money is spent. It uses only the standard
// library and returns an error listing every violation, in the manner of
// testing/fstest.TestFS.
package perturbtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/perturb"
)

// SetAside lists the sentinel errors a Perturber may return (wrapped) for a
// problem it cannot perturb.
var SetAside = []error{perturb.ErrTooEasy, perturb.ErrNoTrace, perturb.ErrOutOfBand, perturb.ErrTooShort}

// TestPerturber perturbs each problem and checks that:
//
//   - a prefix is non-empty, is a byte prefix of its Source, and contains no
//     final-answer statement (perturb.HasFinalAnswer);
//   - a prefix does not end in whitespace (providers reject such prefills);
//   - 1 ≤ StepsKept ≤ StepsTotal, 0 ≤ ErrorStep ≤ StepsTotal, and Strategy
//     is set;
//   - a failure wraps one of the set-aside sentinels (SetAside); any other
//     error is a violation, since with test doubles there is no
//     infrastructure to fail;
//   - a second call gives the same result (same prefix, or the same
//     sentinel): the Perturber is deterministic under its seed;
//   - calling it for all problems concurrently gives the same results
//     (safe for concurrent use, order-independent);
//   - an already-cancelled context makes it return an error wrapping
//     context.Canceled;
//   - at least one problem yields a prefix, so the checks above checked
//     something.
//
// p must be built on test doubles (providers/mock, a fixed trace table) so
// that repeated calls can agree. TestPerturber returns nil if every check
// passes, else an error listing every violation, one per line.
func TestPerturber(p perturb.Perturber, problems []dataset.Problem) error {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if len(problems) == 0 {
		return errors.New("perturbtest: no problems to check")
	}
	ctx := context.Background()
	first := make([]result, len(problems))
	produced := 0
	for i, pr := range problems {
		pre, err := p.Perturb(ctx, pr)
		first[i] = result{pre, err}
		where := fmt.Sprintf("problem %q", pr.ID)
		if err != nil {
			if sentinel(err) == nil {
				fail("%s: error is not a set-aside sentinel (ErrTooEasy, ErrNoTrace, ErrOutOfBand, ErrTooShort): %v", where, err)
			}
			continue
		}
		produced++
		for _, v := range CheckPrefix(pre) {
			fail("%s: %s", where, v)
		}
		pre2, err2 := p.Perturb(ctx, pr)
		if d := diff(result{pre, err}, result{pre2, err2}); d != "" {
			fail("%s: not deterministic: a second call differs: %s", where, d)
		}
	}
	for i, pr := range problems {
		if first[i].err == nil {
			continue
		}
		_, err2 := p.Perturb(ctx, pr)
		if s1, s2 := sentinel(first[i].err), sentinel(err2); s1 != nil && s1 != s2 {
			fail("problem %q: not deterministic: first call failed with %v, second with %v", pr.ID, first[i].err, err2)
		}
	}
	if produced == 0 {
		fail("no problem yielded a prefix (%d set aside), so nothing was checked", len(problems))
	}

	concurrent := make([]result, len(problems))
	var wg sync.WaitGroup
	for i, pr := range problems {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pre, err := p.Perturb(ctx, pr)
			concurrent[i] = result{pre, err}
		}()
	}
	wg.Wait()
	for i, pr := range problems {
		if d := diff(first[i], concurrent[i]); d != "" {
			fail("problem %q: concurrent calls differ from sequential ones: %s", pr.ID, d)
		}
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, pr := range problems[:min(len(problems), 3)] {
		_, err := p.Perturb(cancelled, pr)
		if !errors.Is(err, context.Canceled) {
			fail("problem %q: with a cancelled context: got error %v, want one wrapping context.Canceled", pr.ID, err)
		}
	}

	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("perturbtest: %d violation(s):\n%s", len(errs), strings.Join(errs, "\n"))
}

// CheckPrefix returns the violations of the invariants every Prefix must
// keep (the first three bullets of TestPerturber); nil if there are none.
func CheckPrefix(pre perturb.Prefix) []string {
	var v []string
	if pre.Text == "" {
		v = append(v, "prefix text is empty")
	}
	if !strings.HasPrefix(pre.Source, pre.Text) {
		v = append(v, fmt.Sprintf("prefix is not a prefix of its source (prefix %q…, source %q…)", head(pre.Text), head(pre.Source)))
	}
	if i := perturb.FinalAnswerIndex(pre.Text); i >= 0 {
		v = append(v, fmt.Sprintf("prefix contains a final answer at byte %d: %q", i, head(pre.Text[i:])))
	}
	if r, _ := utf8.DecodeLastRuneInString(pre.Text); pre.Text != "" && unicode.IsSpace(r) {
		v = append(v, "prefix ends in whitespace")
	}
	if pre.StepsKept < 1 || pre.StepsKept > pre.StepsTotal {
		v = append(v, fmt.Sprintf("StepsKept %d of StepsTotal %d: want 1 ≤ kept ≤ total", pre.StepsKept, pre.StepsTotal))
	}
	if pre.ErrorStep < 0 || pre.ErrorStep > pre.StepsTotal {
		v = append(v, fmt.Sprintf("ErrorStep %d outside 0..%d", pre.ErrorStep, pre.StepsTotal))
	}
	if pre.Strategy == "" {
		v = append(v, "Strategy is empty")
	}
	return v
}

func sentinel(err error) error {
	for _, s := range SetAside {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

// result is one call's outcome.
type result struct {
	pre perturb.Prefix
	err error
}

// diff describes how two outcomes differ, or returns "". Usage and CostUSD
// are not compared: a cache may answer a repeated call for free.
func diff(a, b result) string {
	switch {
	case (a.err == nil) != (b.err == nil):
		return fmt.Sprintf("error %v vs %v", a.err, b.err)
	case a.err != nil:
		if sa, sb := sentinel(a.err), sentinel(b.err); sa != sb || sa == nil && a.err.Error() != b.err.Error() {
			return fmt.Sprintf("error %v vs %v", a.err, b.err)
		}
		return ""
	}
	x, y := a.pre, b.pre
	var d []string
	if x.Text != y.Text {
		d = append(d, fmt.Sprintf("Text %q… vs %q…", head(x.Text), head(y.Text)))
	}
	if x.Source != y.Source {
		d = append(d, "Source")
	}
	if x.StepsKept != y.StepsKept || x.StepsTotal != y.StepsTotal {
		d = append(d, fmt.Sprintf("steps %d/%d vs %d/%d", x.StepsKept, x.StepsTotal, y.StepsKept, y.StepsTotal))
	}
	if x.ErrorStep != y.ErrorStep {
		d = append(d, fmt.Sprintf("ErrorStep %d vs %d", x.ErrorStep, y.ErrorStep))
	}
	if x.Strategy != y.Strategy || x.Origin != y.Origin {
		d = append(d, fmt.Sprintf("Strategy/Origin %s/%s vs %s/%s", x.Strategy, x.Origin, y.Strategy, y.Origin))
	}
	if !maps.Equal(x.Meta, y.Meta) {
		d = append(d, fmt.Sprintf("Meta %v vs %v", x.Meta, y.Meta))
	}
	return strings.Join(d, "; ")
}

func head(s string) string {
	const n = 60
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
