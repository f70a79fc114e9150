package providers

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDetectRestartCraftedCases(t *testing.T) {
	const q = "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
	const prefix = "Janet's ducks lay 16 eggs and she uses 3 + 4 = 7 of them.\nSo she sells 16 - 7 = 10 eggs.\n"
	cases := []struct {
		name, prefix, cont string
		restarted          bool
		reasonHas          string
	}{
		{"a genuine continuation is not a restart", prefix, "She makes 10 * 2 = $20 a day.\nThe answer is \\boxed{20}.", false, ""},
		{"a continuation that finishes a cut word is not a restart", "So she sells 16 - 7 = 1", "0 eggs, making $20.", false, ""},
		{"an empty prefix never restarts", "", "Let's solve this step by step.", false, ""},
		{"an empty continuation is not a restart", prefix, "   ", false, ""},
		{"echoing the whole prefix is a restart", prefix, prefix + "She makes $20.", true, "verbatim"},
		{"repeating the first line in other words is a restart", prefix, "Janet's ducks lay 16 eggs, and she uses 3 + 4 = 7 of them, so", true, "first line"},
		{"redoing the first computation is a restart", prefix, "She uses 3 + 4 = 7 eggs herself.", true, "first computation"},
		{"restating the problem is a restart", prefix, "She eats three for breakfast every morning and bakes muffins for her friends every day with four, so...", true, "restates the problem"},
		{"let's solve step by step is a restart", prefix, "Let's solve this step by step.\nJanet has 16 eggs.", true, "fresh answer"},
		{"to solve is a restart", prefix, "To solve this problem, we first count the eggs.", true, "fresh answer"},
		{"markdown Step 1 is a restart", prefix, "**Step 1:** Count the eggs she keeps.", true, "fresh answer"},
		{"sure let's is a restart", prefix, "Sure, let's work through it.", true, "fresh answer"},
		{"renumbering at step 2 after step 3 is a restart", "Step 1: a = 2\nStep 2: b = 3\nStep 3: c = a + b = 6\n", "Step 2: b = 3, so c = 5", true, "numbers its first step"},
		{"the next step number is a continuation", "Step 1: a = 2\nStep 2: b = 3\n", "Step 3: c = a + b = 5", false, ""},
		{"a fresh opener inside the first unfinished step is not a restart", "To", " solve this, note that 16 - 7 = 9.", false, ""},
		{"a prefix ending mid-sequence continued is not a restart", "Count: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,", " 18, 19, 20", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := DetectRestart(q, tc.prefix, tc.cont)
			assert.Equal(t, tc.restarted, r.Restarted, "reason: %q", r.Reason)
			if tc.restarted {
				assert.Contains(t, r.Reason, tc.reasonHas)
			} else {
				assert.Empty(t, r.Reason)
			}
		})
	}
}

func TestStripEcho(t *testing.T) {
	cases := []struct {
		name, prefill, text, want string
		echoed                    bool
	}{
		{"an exact echo is stripped", "1, 2, 3,", "1, 2, 3, 4, 5", " 4, 5", true},
		{"an echo without the trailing space is stripped", "The answer is ", "The answer is 5", "5", true},
		{"leading whitespace before the echo is tolerated", "x = 2\n", "\nx = 2\ny = 3", "\ny = 3", true},
		{"a plain continuation is kept", "1, 2, 3,", " 4, 5", " 4, 5", false},
		{"an empty prefill keeps the text", "", "hello", "hello", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, echoed := StripEcho(tc.prefill, tc.text)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.echoed, echoed)
		})
	}
}

type gsmRecord struct {
	Question  string `json:"question"`
	Solutions map[string]struct {
		Solution string `json:"solution"`
	}
}

var gsmVariants = []string{"6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"}

func loadGSMTraces(t testing.TB) []gsmRecord {
	t.Helper()
	f, err := os.Open("testdata/gsm8k_model_solutions_300.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var out []gsmRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var raw map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &raw), "gsm8k line %d", line)
		var r gsmRecord
		require.NoError(t, json.Unmarshal(raw["question"], &r.Question))
		r.Solutions = map[string]struct {
			Solution string `json:"solution"`
		}{}
		for _, v := range gsmVariants {
			var s struct {
				Solution string `json:"solution"`
			}
			require.NoError(t, json.Unmarshal(raw[v], &s), "gsm8k line %d field %s", line, v)
			r.Solutions[v] = s
		}
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	require.Len(t, out, 300)
	return out
}

type rates struct{ tails, tailFlags, own, ownFlags, other, otherFlags int }

func (r rates) log(t *testing.T, name string) {
	if r.other == 0 {
		t.Logf("%s: tails flagged %d/%d (%.1f%%); own trace from start flagged %d/%d (%.1f%%)",
			name, r.tailFlags, r.tails, pct(r.tailFlags, r.tails), r.ownFlags, r.own, pct(r.ownFlags, r.own))
		return
	}
	t.Logf("%s: tails flagged %d/%d (%.1f%%); own trace from start flagged %d/%d (%.1f%%); another trace from start flagged %d/%d (%.1f%%)",
		name, r.tailFlags, r.tails, pct(r.tailFlags, r.tails), r.ownFlags, r.own, pct(r.ownFlags, r.own), r.otherFlags, r.other, pct(r.otherFlags, r.other))
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// TestDetectRestartOnRealGSM8KTraces cuts real GPT-3 GSM8K solutions after
// every complete step: the trace's own tail must read as a continuation, the
// same trace from its start (and a different model's trace for the same
// problem) as a restart.
func TestDetectRestartOnRealGSM8KTraces(t *testing.T) {
	var r rates
	var fps []string
	for _, rec := range loadGSMTraces(t) {
		for vi, v := range gsmVariants {
			sol := rec.Solutions[v].Solution
			lines := strings.Split(sol, "\n")
			other := rec.Solutions[gsmVariants[(vi+1)%len(gsmVariants)]].Solution
			// Cut after step k, keeping the final "A: N" line out of the prefix.
			for k := 1; k < len(lines)-1; k++ {
				prefix := strings.Join(lines[:k], "\n") + "\n"
				tail := strings.Join(lines[k:], "\n")
				r.tails++
				if res := DetectRestart(rec.Question, prefix, tail); res.Restarted {
					r.tailFlags++
					fps = append(fps, res.Reason+" | "+firstLine(tail))
				}
				r.own++
				if DetectRestart(rec.Question, prefix, sol).Restarted {
					r.ownFlags++
				}
				if other != sol {
					r.other++
					if DetectRestart(rec.Question, prefix, other).Restarted {
						r.otherFlags++
					}
				}
			}
		}
	}
	r.log(t, "GSM8K")
	logFalsePositives(t, fps)
	require.Greater(t, r.tails, 1000)
	assert.LessOrEqual(t, pct(r.tailFlags, r.tails), 3.0, "tails wrongly flagged as restarts")
	assert.GreaterOrEqual(t, pct(r.ownFlags, r.own), 99.0, "own trace from start not flagged")
	// A different model's fresh attempt often shares no line with the prefix;
	// only some are caught (measured 35%). Guard against regressions.
	assert.GreaterOrEqual(t, pct(r.otherFlags, r.other), 30.0, "another trace from start not flagged")
}

var sentenceEnd = regexp.MustCompile(`(?:[.!?]|\$\.)\s+|\n+`)

// splitSteps splits a MATH solution into sentences or lines, keeping the
// separators with the preceding piece so the pieces rejoin to the original.
func splitSteps(s string) []string {
	var out []string
	last := 0
	for _, loc := range sentenceEnd.FindAllStringIndex(s, -1) {
		out = append(out, s[last:loc[1]])
		last = loc[1]
	}
	if last < len(s) {
		out = append(out, s[last:])
	}
	return out
}

// TestDetectRestartOnRealMATHSolutions does the same on MATH-500 reference
// solutions split into sentences.
func TestDetectRestartOnRealMATHSolutions(t *testing.T) {
	f, err := os.Open("testdata/math500_100.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var recs []struct{ Problem, Solution string }
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var rec struct{ Problem, Solution string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "math500 line %d", line)
		recs = append(recs, rec)
	}
	require.Len(t, recs, 100)
	var r rates
	var fps []string
	for _, rec := range recs {
		steps := splitSteps(rec.Solution)
		for k := 1; k < len(steps)-1; k++ {
			prefix := strings.Join(steps[:k], "")
			tail := strings.Join(steps[k:], "")
			require.Equal(t, rec.Solution, prefix+tail)
			r.tails++
			if res := DetectRestart(rec.Problem, prefix, tail); res.Restarted {
				r.tailFlags++
				fps = append(fps, res.Reason+" | "+firstLine(tail))
			}
			r.own++
			if DetectRestart(rec.Problem, prefix, rec.Solution).Restarted {
				r.ownFlags++
			}
		}
	}
	r.log(t, "MATH-500")
	logFalsePositives(t, fps)
	require.Greater(t, r.tails, 300)
	assert.LessOrEqual(t, pct(r.tailFlags, r.tails), 3.0, "tails wrongly flagged as restarts")
	assert.GreaterOrEqual(t, pct(r.ownFlags, r.own), 99.0, "own trace from start not flagged")
}

func BenchmarkDetectRestart(b *testing.B) {
	recs := loadGSMTraces(b)
	sol := recs[0].Solutions["175b_verification"].Solution
	lines := strings.Split(sol, "\n")
	prefix := strings.Join(lines[:1], "\n") + "\n"
	tail := strings.Join(lines[1:], "\n")
	b.ReportAllocs()
	for b.Loop() {
		DetectRestart(recs[0].Question, prefix, tail)
	}
}

// logFalsePositives logs how often each signal fired wrongly, with one
// example each.
func logFalsePositives(t *testing.T, fps []string) {
	count := map[string]int{}
	example := map[string]string{}
	for _, fp := range fps {
		kind := fp[:strings.IndexAny(fp, ":(\"|")]
		count[kind]++
		if example[kind] == "" {
			example[kind] = fp
		}
	}
	for k, n := range count {
		t.Logf("false positives %3d× %s e.g. %s", n, k, firstChars(example[k], 160))
	}
}

// FuzzDetectRestart checks the heuristic's invariants on arbitrary text: it
// never panics, an empty prefix or continuation is never a restart, and a
// restart always says why.
func FuzzDetectRestart(f *testing.F) {
	f.Add("What is 2+2?", "Step 1: 2+2 = 4\n", "Step 2: so 4.")
	f.Add("Q", "Let's solve\n", "Let's solve this step by step.")
	f.Add("A long question with many words in it to restate here", "x = 1\n", "A long question with many words in it to restate")
	f.Add("", "Step 3: 1+1=2\n", "Step 1: 1+1=2")
	f.Add("$\\frac{1}{2}$", "[asy] draw", "\\[ x \\]")
	f.Fuzz(func(t *testing.T, q, p, c string) {
		r := DetectRestart(q, p, c)
		if r.Restarted && r.Reason == "" {
			t.Fatal("restart without a reason")
		}
		if !r.Restarted && r.Reason != "" {
			t.Fatal("reason without a restart")
		}
		if DetectRestart(q, "", c).Restarted || DetectRestart(q, p, "").Restarted {
			t.Fatal("empty prefix or continuation flagged")
		}
		if got, _ := StripEcho(p, p+c); p != "" && got != c {
			t.Fatalf("StripEcho(p, p+c) = %q, want %q", got, c)
		}
	})
}

// squash is squashHead's definition: s lowercased, every rune but letters
// and digits dropped.
func squash(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// FuzzRestartShortcuts checks DetectRestart's shortcuts against what they
// stand for: squashHead(s, n) is the first n bytes of squash(s), and prose
// returns what the regexp does, with or without math in s.
func FuzzRestartShortcuts(f *testing.F) {
	f.Add("Janet’s ducks lay 16 eggs per day.", 60)
	f.Add("ÀÉÎ 12 $x^2$ \\frac{1}{2} [asy] draw; [/asy] \\[ y \\]", 7)
	f.Add("\xff\xfe broken", 3)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = min(max(n, 0), 200)
		full := squash(s)
		if got, want := squashHead(s, n), full[:min(n, len(full))]; got != want {
			t.Fatalf("squashHead(%q, %d) = %q, want %q", s, n, got, want)
		}
		if got, want := prose(s), latexNoise.ReplaceAllString(s, " "); got != want {
			t.Fatalf("prose(%q) = %q, want %q", s, got, want)
		}
	})
}

// FuzzWords checks words and jaccard against their definitions: the
// fields of the lower-cased text between runes that are neither letters
// nor digits, and the ratio of the word sets' intersection to their union.
func FuzzWords(f *testing.F) {
	f.Add("Janet’s ducks lay 16 eggs per day.", "She sells 16 - 3 - 4 = 9 eggs")
	f.Add("ABC def GHI", "abc DEF ghi jkl")
	f.Add("Ünïcode ÀÉÎ 12x", "\xff\xfe broken A")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		want := strings.FieldsFunc(strings.ToLower(a), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})
		if got := words(a); !slices.Equal(got, want) {
			t.Fatalf("words(%q) = %q, want %q", a, got, want)
		}
		wa, wb := words(a), words(b)
		sa, sb := map[string]bool{}, map[string]bool{}
		for _, w := range wa {
			sa[w] = true
		}
		for _, w := range wb {
			sb[w] = true
		}
		inter := 0
		for w := range sa {
			if sb[w] {
				inter++
			}
		}
		want2 := 0.0
		if u := len(sa) + len(sb) - inter; u > 0 {
			want2 = float64(inter) / float64(u)
		}
		if got := jaccard(wa, wb); got != want2 {
			t.Fatalf("jaccard(%q, %q) = %v, want %v", wa, wb, got, want2)
		}
	})
}
