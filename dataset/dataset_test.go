package dataset_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

func TestGSM8KTestHasAll1319ProblemsWithAnswers(t *testing.T) {
	ps := dataset.GSM8KTest()
	require.Len(t, ps, 1319)
	ids := map[string]bool{}
	for _, p := range ps {
		assert.NotEmpty(t, p.Question, p.ID)
		assert.NotEmpty(t, p.Answer, p.ID)
		assert.NotContains(t, p.Answer, ",", p.ID)
		assert.NotContains(t, p.Solution, "####", p.ID)
		assert.NotContains(t, p.Solution, "<<", p.ID)
		assert.Equal(t, "gsm8k", p.Source)
		assert.False(t, ids[p.ID], "duplicate id %s", p.ID)
		ids[p.ID] = true
	}
	first := ps[0]
	assert.Equal(t, "gsm8k/test.jsonl:1", first.ID)
	assert.Equal(t, "18", first.Answer)
	assert.True(t, strings.HasPrefix(first.Question, "Janet’s ducks lay 16 eggs"))
	assert.Equal(t, "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day at the farmer’s market.", first.Solution)
	assert.Contains(t, first.Meta["annotated_solution"], "<<16-3-4=9>>")
	assert.Equal(t, "gsm8k/test.jsonl:1319", ps[1318].ID)
}

func TestGSM8KAnswersDropThousandsSeparators(t *testing.T) {
	// At least one GSM8K test answer is written with a comma upstream.
	raw, err := os.ReadFile(filepath.Join("data", "gsm8k_test.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), `#### 1,`)
	in := `{"question":"q","answer":"step\n#### 1,234,567"}`
	ps, err := dataset.LoadGSM8K(strings.NewReader(in), "x.jsonl")
	require.NoError(t, err)
	assert.Equal(t, "1234567", ps[0].Answer)
}

func TestMATH500HasAll500ProblemsWithSubjectsAndLevels(t *testing.T) {
	ps := dataset.MATH500()
	require.Len(t, ps, 500)
	subjects := map[string]int{}
	ids := map[string]bool{}
	for _, p := range ps {
		assert.True(t, strings.HasPrefix(p.ID, "test/"), p.ID)
		assert.False(t, ids[p.ID], "duplicate id %s", p.ID)
		ids[p.ID] = true
		assert.NotEmpty(t, p.Answer, p.ID)
		assert.NotEmpty(t, p.Solution, p.ID)
		assert.GreaterOrEqual(t, p.Level, 1, p.ID)
		assert.LessOrEqual(t, p.Level, 5, p.ID)
		assert.Equal(t, "math500", p.Source)
		subjects[p.Subject]++
	}
	assert.Len(t, subjects, 7, "MATH has seven subjects: %v", subjects)
	assert.Equal(t, "test/precalculus/807.json", ps[0].ID)
	assert.Equal(t, `\left( 3, \frac{\pi}{2} \right)`, ps[0].Answer)
	assert.Equal(t, "Precalculus", ps[0].Subject)
	assert.Equal(t, 2, ps[0].Level)
	// The three original answer strings restored upstream are kept.
	byID := map[string]string{}
	for _, p := range ps {
		byID[p.ID] = p.Answer
	}
	assert.Equal(t, `90^\circ`, byID["test/precalculus/927.json"])
	assert.Equal(t, `15\mbox{ cm}^2`, byID["test/prealgebra/1114.json"])
}

func TestEmbeddedSetsReturnIndependentCopies(t *testing.T) {
	a := dataset.GSM8KTest()
	a[0].Answer = "corrupted"
	a[0].Meta["annotated_solution"] = "corrupted"
	b := dataset.GSM8KTest()
	assert.Equal(t, "18", b[0].Answer)
	assert.NotEqual(t, "corrupted", b[0].Meta["annotated_solution"])

	m := dataset.MATH500()
	m[0].ID = "x"
	assert.Equal(t, "test/precalculus/807.json", dataset.MATH500()[0].ID)
}

func TestEmbeddedSetsAreSafeForConcurrentFirstUse(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.Len(t, dataset.MATH500(), 500)
		}()
	}
	wg.Wait()
}

func TestMATHAnswerFallsBackToLastBoxed(t *testing.T) {
	in := `{"problem":"p1","solution":"so $\\boxed{1}$ then $\\boxed{\\frac{1}{2}}$.","level":"Level 3","type":"Algebra"}
{"problem":"p2","solution":"s","answer":"7","level":"Level ?","type":"Geometry"}
`
	ps, err := dataset.LoadMATH(strings.NewReader(in), "math.jsonl")
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, `\frac{1}{2}`, ps[0].Answer)
	assert.Equal(t, "math.jsonl:1", ps[0].ID)
	assert.Equal(t, 3, ps[0].Level)
	assert.Equal(t, "Algebra", ps[0].Subject)
	assert.Equal(t, "7", ps[1].Answer)
	assert.Equal(t, 0, ps[1].Level, "Level ? is unknown")
	assert.Equal(t, "Level ?", ps[1].Meta["level"])
}

func TestNuminaLoaderReadsCoTAnd15Layouts(t *testing.T) {
	in := `{"source":"olympiads","problem":"Find x.","solution":"Thus $x=\\boxed{5}$.","messages":[{"role":"user","content":"Find x."},{"role":"assistant","content":"Thus $x=\\boxed{5}$."}]}
{"source":"cn_k12","messages":[{"role":"user","content":"Compute y."},{"role":"assistant","content":"y is \\boxed{-2}"}]}
{"problem":"Show z.","solution":"By induction.","answer":"proof","problem_type":"Algebra","question_type":"proof","source":"olympiads","synthetic":false}
{"problem":"Count w.","solution":"w is 3","answer":"3","problem_type":"Combinatorics","question_type":"math-word-problem","source":"amc_aime","synthetic":false}
`
	_, err := dataset.LoadNumina(strings.NewReader(in), "numina.jsonl")
	require.Error(t, err, "a proof without an answer is an error by default")
	assert.ErrorIs(t, err, dataset.ErrEmptyAnswer)
	assert.Contains(t, err.Error(), "numina.jsonl:3")

	var skipped []dataset.Skip
	ps, err := dataset.LoadNumina(strings.NewReader(in), "numina.jsonl", dataset.SkipUnanswered(&skipped))
	require.NoError(t, err)
	require.Len(t, ps, 3)
	require.Len(t, skipped, 1)
	assert.Equal(t, 3, skipped[0].Line)
	assert.Contains(t, skipped[0].Reason, "empty answer")

	assert.Equal(t, "5", ps[0].Answer)
	assert.Equal(t, "olympiads", ps[0].Meta["source"])
	assert.Equal(t, "numina", ps[0].Source)
	assert.Equal(t, "Compute y.", ps[1].Question, "question from the user message")
	assert.Equal(t, "-2", ps[1].Answer, "answer from the assistant message")
	assert.Equal(t, "3", ps[2].Answer)
	assert.Equal(t, "numina.jsonl:4", ps[2].ID)
	assert.Equal(t, "Combinatorics", ps[2].Meta["problem_type"])
}

func TestLoadJSONLWithFieldMap(t *testing.T) {
	in := `{"uid":"a","prompt":"What is 2+2?","final":4,"cat":"arith","difficulty":"Level 1","year":2024,"tags":["x"]}
{"uid":"b","prompt":"What is 3+3?","final":"6","cat":"arith","difficulty":2}
`
	fm := dataset.FieldMap{ID: "uid", Question: "prompt", Answer: "final", Subject: "cat", Level: "difficulty",
		Meta: []string{"year", "tags"}, Dataset: "toy"}
	ps, err := dataset.LoadJSONL(strings.NewReader(in), "toy.jsonl", fm)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, dataset.Problem{ID: "a", Question: "What is 2+2?", Answer: "4", Source: "toy", Subject: "arith", Level: 1,
		Meta: map[string]string{"year": "2024", "tags": `["x"]`}}, ps[0])
	assert.Equal(t, 2, ps[1].Level)
	assert.Nil(t, ps[1].Meta)
}

func TestLoadJSONLRejectsAnUnusableFieldMap(t *testing.T) {
	_, err := dataset.LoadJSONL(strings.NewReader(`{}`), "f.jsonl", dataset.FieldMap{Answer: "a"})
	assert.ErrorIs(t, err, dataset.ErrFieldMap)
	_, err = dataset.LoadJSONL(strings.NewReader(`{}`), "f.jsonl", dataset.FieldMap{Question: "q"})
	assert.ErrorIs(t, err, dataset.ErrFieldMap)
}

func TestMalformedInputNamesFileLineAndField(t *testing.T) {
	gsm := dataset.FieldMap{Question: "question", Answer: "answer"}
	cases := []struct {
		name      string
		input     string
		load      func(string) ([]dataset.Problem, error)
		want      error
		line      int
		field     string
		inMessage string
	}{
		{"a line that is not JSON", "{\"question\":\"q\",\"answer\":\"#### 1\"}\n\n{oops\n", gsm8k, dataset.ErrMalformed, 3, "", "bad.jsonl:3: "},
		{"a JSON array instead of an object", `[1,2]`, gsm8k, dataset.ErrMalformed, 1, "", "bad.jsonl:1: "},
		{"a null line", "null", gsm8k, dataset.ErrMalformed, 1, "", "bad.jsonl:1: "},
		{"a GSM8K answer without ####", "{\"question\":\"q\",\"answer\":\"#### 1\"}\n{\"question\":\"q\",\"answer\":\"it is 5\"}", gsm8k, dataset.ErrMalformed, 2, "answer", `bad.jsonl:2: field "answer"`},
		{"an empty GSM8K answer", `{"question":"q","answer":"steps\n####   "}`, gsm8k, dataset.ErrEmptyAnswer, 1, "answer", `bad.jsonl:1: field "answer"`},
		{"a missing question", `{"answer":"#### 1"}`, gsm8k, dataset.ErrMissingField, 1, "question", `bad.jsonl:1: field "question"`},
		{"an empty question", `{"question":"  ","answer":"#### 1"}`, gsm8k, dataset.ErrMissingField, 1, "question", `field "question"`},
		{"an object where a string belongs", `{"question":{"a":1},"answer":"#### 1"}`, gsm8k, dataset.ErrFieldType, 1, "question", `field "question"`},
		{"a MATH record with no answer and no boxed", "{\"problem\":\"p\",\"solution\":\"no box\",\"level\":1}", math, dataset.ErrEmptyAnswer, 1, "answer", `bad.jsonl:1: field "answer"`},
		{"a duplicate MATH id", "{\"problem\":\"p\",\"answer\":\"1\",\"unique_id\":\"u\"}\n{\"problem\":\"p\",\"answer\":\"1\",\"unique_id\":\"u\"}", math, dataset.ErrDuplicateID, 2, "", "first at line 1"},
		{"a field-map answer that is null", `{"question":"q","answer":null}`, func(s string) ([]dataset.Problem, error) {
			return dataset.LoadJSONL(strings.NewReader(s), "bad.jsonl", gsm)
		}, dataset.ErrEmptyAnswer, 1, "answer", `bad.jsonl:1: field "answer"`},
		{"a Numina record with a malformed messages list", `{"source":"x","problem":"p","messages":"hi"}`, numina, dataset.ErrFieldType, 1, "messages", `field "messages"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.load(tc.input)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			var de *dataset.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, "bad.jsonl", de.File)
			assert.Equal(t, tc.line, de.Line)
			assert.Equal(t, tc.field, de.Field)
			assert.Contains(t, err.Error(), tc.inMessage)
		})
	}
}

func gsm8k(s string) ([]dataset.Problem, error) {
	return dataset.LoadGSM8K(strings.NewReader(s), "bad.jsonl")
}

func math(s string) ([]dataset.Problem, error) {
	return dataset.LoadMATH(strings.NewReader(s), "bad.jsonl")
}

func numina(s string) ([]dataset.Problem, error) {
	return dataset.LoadNumina(strings.NewReader(s), "bad.jsonl")
}

func TestLoadersAcceptCRLFBlankLinesBOMAndNoFinalNewline(t *testing.T) {
	in := "\xef\xbb\xbf{\"question\":\"q1\",\"answer\":\"a\\n#### 1\"}\r\n\r\n  \n{\"question\":\"q2\",\"answer\":\"#### 2\"}"
	ps, err := dataset.LoadGSM8K(strings.NewReader(in), "f.jsonl")
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, "f.jsonl:1", ps[0].ID)
	assert.Equal(t, "f.jsonl:4", ps[1].ID, "IDs count physical lines, blank ones included")
	assert.Equal(t, "2", ps[1].Answer)
	assert.Empty(t, ps[1].Solution)
}

func TestOpenDetectsEachLayoutFromItsFields(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	cases := []struct {
		name, file, body string
		wantSource       string
		wantAnswer       string
		wantID           string
	}{
		{"GSM8K by its #### line", "g.jsonl", `{"question":"q","answer":"x\n#### 1,000"}`, "gsm8k", "1000", "g.jsonl:1"},
		{"MATH by problem and unique_id", "m.jsonl", `{"problem":"p","solution":"\\boxed{3}","unique_id":"test/a/1.json","level":2,"subject":"Algebra"}`, "math", "3", "test/a/1.json"},
		{"NuminaMath by problem and source", "n.ndjson", `{"problem":"p","solution":"\\boxed{4}","source":"aops_forum"}`, "numina", "4", "n.ndjson:1"},
		{"a generic file by common names", "x.jsonl", `{"id":"q7","input":"p","target":"5"}`, "", "5", "q7"},
		{"a question/answer file without #### as generic", "qa.jsonl", `{"question":"q","answer":"42"}`, "", "42", "qa.jsonl:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := dataset.Open(write(tc.file, tc.body))
			require.NoError(t, err)
			require.Len(t, ps, 1)
			assert.Equal(t, tc.wantSource, ps[0].Source)
			assert.Equal(t, tc.wantAnswer, ps[0].Answer)
			// Positional IDs carry the base name, not the path.
			assert.Equal(t, tc.wantID, ps[0].ID)
		})
	}

	_, err := dataset.Open(write("u.jsonl", `{"foo":1,"bar":2}`))
	assert.ErrorIs(t, err, dataset.ErrUnknownFormat)
	assert.Contains(t, err.Error(), "u.jsonl:1")
	assert.Contains(t, err.Error(), "bar, foo")

	_, err = dataset.Open(write("d.csv", "a,b"))
	assert.ErrorIs(t, err, dataset.ErrUnknownFormat)

	_, err = dataset.Open(filepath.Join(dir, "missing.jsonl"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestOpenReadsTheEmbeddedFilesLikeTheEmbeddedSets(t *testing.T) {
	ps, err := dataset.Open(filepath.Join("data", "math500_test.jsonl"))
	require.NoError(t, err)
	want := dataset.MATH500()
	require.Len(t, ps, len(want))
	for i := range ps {
		assert.Equal(t, want[i].ID, ps[i].ID)
		assert.Equal(t, want[i].Answer, ps[i].Answer)
	}
	ps, err = dataset.Open(filepath.Join("data", "gsm8k_test.jsonl"))
	require.NoError(t, err)
	assert.Len(t, ps, 1319)
}

func TestLastBoxed(t *testing.T) {
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"a simple box", `so $\boxed{5}$`, "5", true},
		{"the last of several boxes", `\boxed{1} or \boxed{2}`, "2", true},
		{"nested braces", `\boxed{\frac{1}{2}}`, `\frac{1}{2}`, true},
		{"escaped braces", `\boxed{\{1, 2\}}`, `\{1, 2\}`, true},
		{"fbox", `\fbox{7}`, "7", true},
		{"the brace-less form", `$\boxed 5$`, "5", true},
		{"an unclosed box before a good one is skipped", `\boxed{3} then \boxed{4`, "3", true},
		{"no box", `x = 5`, "", false},
		{"an empty box", `\boxed{ }`, "", false},
		{"a longer command name", `\boxedness{3}`, "", false},
		{"a box at the very end", `\boxed`, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := dataset.LastBoxed(tc.in)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]int{"3": 3, "Level 5": 5, "level 2": 2, " 4 ": 4, "Level ?": 0, "hard": 0, "-1": 0, "": 0} {
		assert.Equal(t, want, dataset.ParseLevel(in), in)
	}
}

func TestDetectNamesWhatItFound(t *testing.T) {
	fm, err := dataset.Detect(map[string]bool{"problem": true, "solution": true, "unique_id": true, "type": true})
	require.NoError(t, err)
	assert.Equal(t, "math", fm.Dataset)
	assert.Equal(t, "type", fm.Subject)
	fm, err = dataset.Detect(map[string]bool{"uuid": true, "query": true, "ground_truth": true})
	require.NoError(t, err)
	assert.Equal(t, dataset.FieldMap{ID: "uuid", Question: "query", Answer: "ground_truth"}, fm)
	_, err = dataset.Detect(map[string]bool{"question": true})
	assert.ErrorIs(t, err, dataset.ErrUnknownFormat)
}

func TestReaderErrorsAreReportedWithTheirLine(t *testing.T) {
	r := &failingReader{data: []byte("{\"question\":\"q\",\"answer\":\"#### 1\"}\n{\"quest"), err: errors.New("disk on fire")}
	_, err := dataset.LoadGSM8K(r, "f.jsonl")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk on fire")
	assert.Contains(t, err.Error(), "f.jsonl:2")
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}
