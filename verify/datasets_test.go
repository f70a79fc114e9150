package verify

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readJSONL decodes every line of a testdata file into T.
func readJSONL[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		var v T
		require.NoErrorf(t, json.Unmarshal(sc.Bytes(), &v), "%s:%d", path, line)
		out = append(out, v)
	}
	require.NoError(t, sc.Err())
	return out
}

type math500Row struct {
	Problem  string `json:"problem"`
	Solution string `json:"solution"`
	Answer   string `json:"answer"`
	ID       string `json:"unique_id"`
}

func TestMath500SolutionsVerifyAgainstTheirOwnAnswer(t *testing.T) {
	rows := readJSONL[math500Row](t, "testdata/math500.jsonl")
	require.Len(t, rows, 500)
	m := NewMath()
	ok := 0
	for _, r := range rows {
		v, err := m.Verify(context.Background(), r.Answer, r.Solution)
		require.NoError(t, err)
		if v.Correct {
			ok++
		} else {
			t.Errorf("%s: %s", r.ID, v.Reason)
		}
	}
	t.Logf("MATH-500 self-verification: %d/%d", ok, len(rows))
}

func TestMath500SolutionsFailAgainstOtherProblemsAnswers(t *testing.T) {
	rows := readJSONL[math500Row](t, "testdata/math500.jsonl")
	m := NewMath()
	pairs, wrong := 0, 0
	for i, r := range rows {
		for _, off := range []int{1, 7, 101, 250} {
			o := rows[(i+off)%len(rows)]
			if same, _ := m.Verify(context.Background(), o.Answer, r.Answer); same.Correct {
				continue // genuinely the same answer, e.g. "x=5" and "5"
			}
			pairs++
			v, err := m.Verify(context.Background(), o.Answer, r.Solution)
			require.NoError(t, err)
			if v.Correct {
				wrong++
				t.Errorf("%s solution accepted for %s answer %q: %s", r.ID, o.ID, o.Answer, v.Reason)
			}
		}
	}
	t.Logf("MATH-500 cross pairs: %d checked, %d wrongly accepted", pairs, wrong)
}

type gsmRow struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

func TestGSM8KGoldAnswersVerifyAgainstTheirHashes(t *testing.T) {
	rows := readJSONL[gsmRow](t, "testdata/gsm8k_test.jsonl")
	require.Len(t, rows, 1319)
	m := NewMath()
	ok := 0
	for i, r := range rows {
		ref := strings.TrimSpace(r.Answer[strings.LastIndex(r.Answer, "####")+4:])
		v, err := m.Verify(context.Background(), ref, r.Answer)
		require.NoError(t, err)
		if v.Correct {
			ok++
		} else {
			t.Errorf("row %d: %s", i+1, v.Reason)
		}
	}
	t.Logf("GSM8K gold: %d/%d", ok, len(rows))
}

type gsmSolution struct {
	IsCorrect bool   `json:"is_correct"`
	Solution  string `json:"solution"`
}

type gsmExampleRow struct {
	GroundTruth string      `json:"ground_truth"`
	F6          gsmSolution `json:"6b_finetuning"`
	V6          gsmSolution `json:"6b_verification"`
	F175        gsmSolution `json:"175b_finetuning"`
	V175        gsmSolution `json:"175b_verification"`
}

func TestGSM8KModelSolutionsAgreeWithLabels(t *testing.T) {
	rows := readJSONL[gsmExampleRow](t, "testdata/gsm8k_example_model_solutions.jsonl")
	require.Len(t, rows, 1319)
	m := NewMath()
	total, agree := 0, 0
	for i, r := range rows {
		ref, _ := Extract(r.GroundTruth)
		for _, s := range []gsmSolution{r.F6, r.V6, r.F175, r.V175} {
			total++
			v, err := m.Verify(context.Background(), ref, s.Solution)
			require.NoError(t, err)
			if v.Correct == s.IsCorrect {
				agree++
			} else {
				t.Logf("row %d label=%v: %s", i+1, s.IsCorrect, v.Reason)
			}
		}
	}
	rate := float64(agree) / float64(total)
	t.Logf("GSM8K example_model_solutions agreement: %d/%d = %.2f%%", agree, total, 100*rate)
	assert.Equal(t, 5276, total)
	assert.GreaterOrEqual(t, rate, 0.995)
}

// responseFormats are the ways models state a final answer.
var responseFormats = []string{
	"Some reasoning.\n\nThe final answer is $\\boxed{%s}$.",
	"Thus the answer is $%s$.",
	"**Answer:** $%s$",
	"Final Answer: The final answer is $%s$. I hope it is correct.",
	"Therefore, \\[\\boxed{%s}\\]",
	"So we get $$%s$$",
	"Answer: \\(%s\\)",
}

func TestMath500AnswersInCommonResponseFormats(t *testing.T) {
	rows := readJSONL[math500Row](t, "testdata/math500.jsonl")
	m := NewMath()
	ctx := context.Background()
	for _, f := range responseFormats {
		missed, accepted, pairs := 0, 0, 0
		for i, r := range rows {
			resp := fmt.Sprintf(f, r.Answer)
			v, err := m.Verify(ctx, r.Answer, resp)
			require.NoError(t, err)
			if !v.Correct {
				missed++
				t.Errorf("own answer rejected: %q: %s", resp, v.Reason)
			}
			o := rows[(i+13)%len(rows)]
			if same, _ := m.Verify(ctx, o.Answer, r.Answer); same.Correct {
				continue
			}
			pairs++
			if v, _ := m.Verify(ctx, o.Answer, resp); v.Correct {
				accepted++
				t.Errorf("other answer accepted: ref %q resp %q: %s", o.Answer, resp, v.Reason)
			}
		}
		t.Logf("format %q: %d/500 own answers missed, %d/%d other answers accepted", f, missed, accepted, pairs)
	}
}

// TestMath500AnswersWithOneDigitChangedAreRejected bumps the first digit of
// every MATH-500 answer (15 → 25, \frac{3}{56} → \frac{4}{56}) and expects
// the verifier to reject each.
func TestMath500AnswersWithOneDigitChangedAreRejected(t *testing.T) {
	rows := readJSONL[math500Row](t, "testdata/math500.jsonl")
	m := NewMath()
	n := 0
	for _, r := range rows {
		b := []byte(r.Answer)
		i := strings.IndexAny(r.Answer, "0123456789")
		if i < 0 {
			continue
		}
		b[i] = '0' + (b[i]-'0'+1)%10
		n++
		v, err := m.Verify(context.Background(), r.Answer, "The final answer is $\\boxed{"+string(b)+"}$")
		require.NoError(t, err)
		assert.False(t, v.Correct, "%q accepted for %q: %s", string(b), r.Answer, v.Reason)
	}
	t.Logf("%d perturbed MATH-500 answers checked", n)
}

// withThousands writes 12345 as 12,345.
func withThousands(s string) string {
	s = strings.ReplaceAll(s, ",", "")
	if strings.ContainsAny(s, ".-") || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func TestGSM8KAnswersInCommonResponseFormats(t *testing.T) {
	rows := readJSONL[gsmRow](t, "testdata/gsm8k_test.jsonl")
	formats := []string{
		"Adding up, so the answer is %s.",
		"Step 1.\nStep 2.\n#### %s",
		"The final answer is $\\boxed{%s}$.",
		"In total she makes $%s.",
		"Answer: %s dollars",
		"So the total is **%s**.",
		"Therefore there are %s apples left.",
	}
	m := NewMath()
	ctx := context.Background()
	for _, f := range formats {
		missed, accepted := 0, 0
		for i, r := range rows {
			ref := strings.TrimSpace(r.Answer[strings.LastIndex(r.Answer, "####")+4:])
			other := rows[(i+1)%len(rows)].Answer
			other = strings.TrimSpace(other[strings.LastIndex(other, "####")+4:])
			for _, resp := range []string{fmt.Sprintf(f, ref), fmt.Sprintf(f, withThousands(ref))} {
				if v, _ := m.Verify(ctx, ref, resp); !v.Correct {
					missed++
					t.Errorf("%q rejected for %q: %s", resp, ref, v.Reason)
				}
				if other == ref {
					continue
				}
				if v, _ := m.Verify(ctx, other, resp); v.Correct {
					accepted++
					t.Errorf("%q accepted for %q: %s", resp, other, v.Reason)
				}
			}
		}
		t.Logf("format %q: %d missed, %d wrongly accepted (of %d)", f, missed, accepted, 2*len(rows))
	}
}
