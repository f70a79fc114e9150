package sim

import (
	"context"
	"strings"
	"testing"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/providers"
)

func FuzzGoldSteps(f *testing.F) {
	for _, p := range embedded()[1315:1325] {
		f.Add(p.Solution)
	}
	f.Add("a $b\n\\[ c")
	f.Add("\\boxed{\\boxed{1}")
	f.Add("x<<1=1")
	f.Add("[asy] never closed")
	f.Fuzz(func(t *testing.T, solution string) {
		for i, st := range goldSteps(solution) {
			if st == "" || strings.ContainsAny(st, "\n\r") || st != strings.TrimSpace(st) {
				t.Fatalf("step %d %q: want one non-empty trimmed line", i, st)
			}
			if strings.Contains(st, `\boxed{`) {
				t.Fatalf("step %d %q still holds \\boxed{", i, st)
			}
		}
		for _, n := range numbers(solution) {
			if n.Start < 0 || n.End > len(solution) || n.Start >= n.End || n.Value == "" {
				t.Fatalf("bad span %+v", n)
			}
		}
	})
}

func FuzzContinue(f *testing.F) {
	ps := embedded()
	probs := []dataset.Problem{ps[0], ps[2], ps[1320], ps[1400]}
	s := New(Strong(), probs...)
	f.Add(0, "Janet sells 16 - 3 - 4 = 8 duck eggs a day.\n", 3)
	f.Add(1, "The cost of the house and repairs came out to 80,000+50,000=$130,000\n", 0)
	f.Add(2, "We count the number of times $\\frac{1}{n^3}$", 7)
	f.Add(3, "Step 1: 99999999999999999999999 and 0.5.\n\n", 1)
	f.Fuzz(func(t *testing.T, which int, prefix string, sample int) {
		p := probs[uint(which)%uint(len(probs))]
		req := ask(p, sample, prefix)
		c, err := s.Complete(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := dataset.LastBoxed(c.Text); !ok || !strings.HasSuffix(c.Text, "}.") {
			t.Fatalf("no final answer line in %q", c.Text)
		}
		again, _ := s.Complete(context.Background(), req)
		if again.Text != c.Text {
			t.Fatal("not deterministic")
		}
		if q := s.ContinueProb(p.ID, prefix); !(q >= 0 && q <= 1) {
			t.Fatalf("ContinueProb = %v", q)
		}
		if strings.TrimSpace(prefix) != "" && c.PrefillMethod != providers.PrefillNative {
			t.Fatalf("PrefillMethod = %q", c.PrefillMethod)
		}
	})
}

func FuzzWrongAnswer(f *testing.F) {
	for _, p := range embedded()[1319:1340] {
		f.Add(p.Answer, 3)
	}
	f.Add("18", -9)
	f.Add("-0", 1)
	f.Add("1e5", 2)
	f.Fuzz(func(t *testing.T, gold string, delta int) {
		if w := wrongAnswer(gold, delta%10); w == strings.TrimSpace(gold) {
			t.Fatalf("wrongAnswer(%q) = the gold answer", gold)
		}
	})
}
