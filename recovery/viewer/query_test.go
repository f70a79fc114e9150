package viewer

import (
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fp(f float64) *float64 { return &f }

func TestQueryRoundTripsThroughURLParameters(t *testing.T) {
	for _, q := range []Query{
		{},
		{Search: "janet eggs", Bucket: "hard", Strategy: "weak", Outcome: OutcomeFailed, Restart: "yes"},
		{MinPass: fp(0.25), MaxPass: fp(1), Sort: SortPass, Desc: true, Page: 3, Size: 20},
		{MinPass: fp(0), Sort: SortRestarts},
		{Search: "a&b=c?d#e %", Bucket: "très dur"},
	} {
		got, err := ParseQuery(q.Values())
		require.NoError(t, err, q.Values().Encode())
		assert.Equal(t, q, got, q.Values().Encode())
	}
}

func TestParseQueryAcceptsPercentSigns(t *testing.T) {
	q, err := ParseQuery(url.Values{"pmin": {"33.3%"}, "pmax": {" 50 "}})
	require.NoError(t, err)
	assert.InDelta(t, 0.333, *q.MinPass, 1e-12)
	assert.InDelta(t, 0.5, *q.MaxPass, 1e-12)
}

func TestOutcomeClassifiesProblems(t *testing.T) {
	cases := []struct {
		name string
		s    ProblemSummary
		want Outcome
	}{
		{"every continuation recovered", ProblemSummary{Prefixes: 1, Continuations: 3, Recovered: 3}, OutcomeRecovered},
		{"some recovered", ProblemSummary{Prefixes: 1, Continuations: 3, Recovered: 1}, OutcomePartial},
		{"none recovered", ProblemSummary{Prefixes: 1, Continuations: 3}, OutcomeFailed},
		{"no prefix and a set-aside reason", ProblemSummary{SetAside: []string{"weak: too_easy"}}, OutcomeSetAside},
		{"a prefix awaiting continuations", ProblemSummary{Prefixes: 1}, OutcomePending},
		{"nothing yet", ProblemSummary{}, OutcomePending},
		{"one strategy set aside, another continued", ProblemSummary{Prefixes: 1, SetAside: []string{"x"}, Continuations: 1}, OutcomeFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, c.s.Outcome()) })
	}
}

func TestPassRateBoundsIncludeTheirEndpoints(t *testing.T) {
	rows := []ProblemSummary{
		{ID: "a", StrongCorrect: 1, StrongSamples: 3},
		{ID: "b", StrongCorrect: 2, StrongSamples: 3},
		{ID: "c"}, // no samples: fails any bound
	}
	q := Query{MinPass: fp(1.0 / 3), MaxPass: fp(2.0 / 3)}
	p := q.Apply(rows)
	assert.Equal(t, 2, p.Matched)
	q = Query{MaxPass: fp(1)}
	assert.Equal(t, 2, q.Apply(rows).Matched)
	assert.Equal(t, 3, Query{}.Apply(rows).Matched)
}

func TestApplyPagesAndClamps(t *testing.T) {
	rows := make([]ProblemSummary, 23)
	for i := range rows {
		rows[i].ID = string(rune('a' + i))
	}
	p := Query{Size: 10, Page: 2}.Apply(rows)
	assert.Equal(t, Page{Rows: rows[10:20], Matched: 23, Total: 23, Number: 2, Pages: 3, Size: 10, First: 10}, p)
	p = Query{Size: 10, Page: 7}.Apply(rows)
	assert.Equal(t, 3, p.Number)
	assert.Len(t, p.Rows, 3)
	p = Query{Search: "nothing"}.Apply(rows)
	assert.Equal(t, 1, p.Pages)
	assert.Empty(t, p.Rows)
	p = Query{Sort: SortRun, Desc: true, Size: 2}.Apply(rows)
	assert.Equal(t, []string{"w", "v"}, []string{p.Rows[0].ID, p.Rows[1].ID})
}

func TestContainsFoldHandlesUnicode(t *testing.T) {
	assert.True(t, containsFold("Janet's DUCKS", "ducks"))
	assert.True(t, containsFold("ÉNONCÉ du problème", "énoncé"))
	assert.True(t, containsFold("x", ""))
	assert.False(t, containsFold("abc", "abcd"))
	assert.False(t, containsFold("ducks", "geese"))
}

func TestFormatting(t *testing.T) {
	assert.Equal(t, "—", formatPct(math.NaN()))
	assert.Equal(t, "66.7%", formatPct(2.0/3))
	assert.Equal(t, "—", formatFrac(0, 0))
	assert.Equal(t, "2/3", formatFrac(2, 3))
	assert.Equal(t, "$0", formatUSD(0))
	assert.Equal(t, "$0.00042", formatUSD(0.00042))
	assert.Equal(t, "$1.2346", formatUSD(1.23456))
	assert.Equal(t, "$1234.50", formatUSD(1234.5))
	assert.Equal(t, "1,234,567", formatInt(1234567))
	assert.Equal(t, "-1,000", formatInt(-1000))
	assert.Equal(t, "999", formatInt(999))
	assert.Equal(t, "", formatLatency(300*time.Microsecond))
	assert.Equal(t, "850ms", formatLatency(850*time.Millisecond))
	assert.Equal(t, "1.23s", formatLatency(1234*time.Millisecond))
	assert.Equal(t, "a b…", snippet("a\n  b c", 3))
	assert.Equal(t, "héllo", snippet("héllo", 5))
	assert.Equal(t, "hé…", snippet("héllo", 2))
}

func TestTailStartsAtALineAndNeverSplitsARune(t *testing.T) {
	s := "first line\nsecond line é\nthird"
	assert.Equal(t, s, tail(s, 100))
	got := tail(s, 20)
	assert.True(t, strings.HasPrefix(got, "…"))
	assert.True(t, strings.HasSuffix(s, strings.TrimPrefix(got, "…")))
	assert.Equal(t, "…third", tail(s, 8), "starts after the newline when one is near")
	for n := 1; n < len(s); n++ {
		assert.True(t, isValidUTF8(tail(s, n)), n)
	}
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"", "q=eggs&bucket=hard&strategy=weak&outcome=failed&restart=yes&pmin=10&pmax=90&sort=pass&desc=1&page=2&size=20",
		"page=0", "pmin=NaN", "pmin=1e309", "size=-1", "sort=%00", "pmax=50%25", "q=%FF%FE", "outcome=set-aside&restart=no",
	} {
		f.Add(seed)
	}
	rows := []ProblemSummary{
		{ID: "a", Question: "x", Bucket: "hard", StrongCorrect: 1, StrongSamples: 2, Strategies: []string{"weak"}, Continuations: 1, Restarts: 1},
		{ID: "b", Question: "y", Bucket: "easy", StrongCorrect: 2, StrongSamples: 2},
		{ID: "c"},
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			if !strings.Contains(err.Error(), "query parameter ") {
				t.Fatalf("error does not name the parameter: %v", err)
			}
			return
		}
		if q.MinPass != nil && (*q.MinPass < 0 || *q.MinPass > 1) || q.MaxPass != nil && (*q.MaxPass < 0 || *q.MaxPass > 1) {
			t.Fatalf("pass bounds out of range: %v %v", *q.MinPass, *q.MaxPass)
		}
		if q.Size < 0 || q.Size > MaxPageSize || q.Page < 0 {
			t.Fatalf("page %d size %d", q.Page, q.Size)
		}
		back, err := ParseQuery(q.Values())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", q.Values().Encode(), err)
		}
		if back.Values().Encode() != q.Values().Encode() {
			t.Fatalf("round trip: %q != %q", back.Values().Encode(), q.Values().Encode())
		}
		p := q.Apply(rows)
		if p.Number < 1 || p.Number > p.Pages || len(p.Rows) > p.Size || p.Matched > len(rows) {
			t.Fatalf("bad page %+v", p)
		}
	})
}

func TestTraceSegmentsMarkTheCutAndTheKnownError(t *testing.T) {
	src := "Step 1: a = 2.\nStep 2: b = a + 2 = 5.\nStep 3: c = b * 2 = 10.\nStep 4: The answer is 10."
	cut := strings.Index(src, "\nStep 3")
	join := func(segs []segment) string {
		var b strings.Builder
		for _, s := range segs {
			switch {
			case s.Cut:
				b.WriteString("|")
			case s.Err:
				b.WriteString("[" + s.Text + "]")
			default:
				b.WriteString(s.Text)
			}
		}
		return b.String()
	}
	cases := []struct {
		name     string
		p        Prefix
		want     string
		verbatim bool
	}{
		{"error inside the kept part", Prefix{Text: src[:cut], Source: src, StepsKept: 2, StepsTotal: 4, ErrorStep: 2},
			"Step 1: a = 2.\n[Step 2: b = a + 2 = 5.]|\nStep 3: c = b * 2 = 10.\nStep 4: The answer is 10.", true},
		{"error after the cut", Prefix{Text: src[:cut], Source: src, StepsKept: 2, StepsTotal: 4, ErrorStep: 3},
			"Step 1: a = 2.\nStep 2: b = a + 2 = 5.|\n[Step 3: c = b * 2 = 10.]\nStep 4: The answer is 10.", true},
		{"no known error", Prefix{Text: src[:cut], Source: src, StepsKept: 2, StepsTotal: 4},
			"Step 1: a = 2.\nStep 2: b = a + 2 = 5.|\nStep 3: c = b * 2 = 10.\nStep 4: The answer is 10.", true},
		{"step counts that disagree with the split leave the error unmarked", Prefix{Text: src[:cut], Source: src, StepsKept: 2, StepsTotal: 7, ErrorStep: 2},
			"Step 1: a = 2.\nStep 2: b = a + 2 = 5.|\nStep 3: c = b * 2 = 10.\nStep 4: The answer is 10.", true},
		{"the whole source kept", Prefix{Text: src, Source: src, StepsKept: 4, StepsTotal: 4}, src + "|", true},
		{"a prefix that is not a prefix of its source", Prefix{Text: "edited", Source: src, StepsKept: 1, StepsTotal: 4, ErrorStep: 1}, "edited|", false},
		{"no source", Prefix{Text: "only this"}, "only this|", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			segs, verbatim := traceSegments(c.p)
			assert.Equal(t, c.want, join(segs))
			assert.Equal(t, c.verbatim, verbatim)
			n := 0
			for _, s := range segs {
				if s.Cut {
					n++
				}
			}
			assert.Equal(t, 1, n, "exactly one cut marker")
		})
	}
}
