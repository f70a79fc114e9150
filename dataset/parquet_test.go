package dataset_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

// hfRow mimics a Hugging Face math dataset exported to Parquet.
type hfRow struct {
	ProblemID  string   `parquet:"problem_id"`
	Prompt     string   `parquet:"prompt"`
	Gold       string   `parquet:"gold"`
	Reasoning  string   `parquet:"reasoning"`
	Topic      string   `parquet:"topic"`
	Difficulty int32    `parquet:"difficulty"`
	Year       int64    `parquet:"year"`
	Tags       []string `parquet:"tags,list"`
}

func writeParquet[T any](t *testing.T, rows []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	_, err := w.Write(rows)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestParquetRoundTripThroughAFieldMap(t *testing.T) {
	rows := []hfRow{
		{"p1", "What is 6*7?", "42", "6*7 = 42", "arithmetic", 1, 2024, []string{"easy", "mult"}},
		{"p2", "Simplify 2/4.", "", `It is $\boxed{\frac{1}{2}}$.`, "fractions", 2, 2025, nil},
	}
	b := writeParquet(t, rows)
	fm := dataset.FieldMap{ID: "problem_id", Question: "prompt", Answer: "gold", Solution: "reasoning",
		Subject: "topic", Level: "difficulty", AnswerFromSolution: true, Meta: []string{"year", "tags"}, Dataset: "hf"}
	ps, err := dataset.LoadParquet(bytes.NewReader(b), int64(len(b)), "train.parquet", fm)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, dataset.Problem{ID: "p1", Question: "What is 6*7?", Answer: "42", Solution: "6*7 = 42",
		Source: "hf", Subject: "arithmetic", Level: 1, Meta: map[string]string{"year": "2024", "tags": `["easy","mult"]`}}, ps[0])
	assert.Equal(t, `\frac{1}{2}`, ps[1].Answer, "answer from the solution's box when the column is empty")
	assert.Equal(t, 2, ps[1].Level)
}

func TestParquetErrorsNameTheRowAndField(t *testing.T) {
	rows := []hfRow{
		{ProblemID: "p1", Prompt: "q", Gold: "1"},
		{ProblemID: "p2", Prompt: "q", Gold: ""},
	}
	b := writeParquet(t, rows)
	fm := dataset.FieldMap{ID: "problem_id", Question: "prompt", Answer: "gold"}
	_, err := dataset.LoadParquet(bytes.NewReader(b), int64(len(b)), "train.parquet", fm)
	require.Error(t, err)
	assert.ErrorIs(t, err, dataset.ErrEmptyAnswer)
	var de *dataset.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, 2, de.Row)
	assert.Equal(t, "gold", de.Field)
	assert.Contains(t, err.Error(), `train.parquet:row 2: field "gold"`)

	var skipped []dataset.Skip
	ps, err := dataset.LoadParquet(bytes.NewReader(b), int64(len(b)), "train.parquet", fm, dataset.SkipUnanswered(&skipped))
	require.NoError(t, err)
	assert.Len(t, ps, 1)
	require.Len(t, skipped, 1)
	assert.Equal(t, 2, skipped[0].Row)

	_, err = dataset.LoadParquet(bytes.NewReader(b), int64(len(b)), "train.parquet", dataset.FieldMap{Question: "nope", Answer: "gold"})
	assert.ErrorIs(t, err, dataset.ErrMissingField)
	assert.Contains(t, err.Error(), "prompt", "the error lists the columns present")
}

func TestParquetRejectsGarbage(t *testing.T) {
	junk := []byte("PAR1 this is not parquet PAR1")
	_, err := dataset.LoadParquet(bytes.NewReader(junk), int64(len(junk)), "junk.parquet", dataset.FieldMap{Question: "q", Answer: "a"})
	assert.ErrorIs(t, err, dataset.ErrMalformed)
	assert.Contains(t, err.Error(), "junk.parquet")
}

type gsmRow struct {
	Question string `parquet:"question"`
	Answer   string `parquet:"answer"`
}

type mathRow struct {
	Problem  string `parquet:"problem"`
	Solution string `parquet:"solution"`
	Answer   string `parquet:"answer"`
	Subject  string `parquet:"subject"`
	Level    int64  `parquet:"level"`
	UniqueID string `parquet:"unique_id"`
}

func TestOpenDetectsParquetLayouts(t *testing.T) {
	dir := t.TempDir()
	g := filepath.Join(dir, "gsm8k.parquet")
	require.NoError(t, os.WriteFile(g, writeParquet(t, []gsmRow{{"q", "3 + 4 = <<3+4=7>>7\n#### 7"}}), 0o644))
	ps, err := dataset.Open(g)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, "gsm8k", ps[0].Source)
	assert.Equal(t, "7", ps[0].Answer)
	assert.Equal(t, "3 + 4 = 7", ps[0].Solution)
	assert.Equal(t, "gsm8k.parquet:row1", ps[0].ID)

	m := filepath.Join(dir, "math.parquet")
	require.NoError(t, os.WriteFile(m, writeParquet(t, []mathRow{{"p", `\boxed{2}`, "2", "Algebra", 4, "test/algebra/1.json"}}), 0o644))
	ps, err = dataset.Open(m)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, dataset.Problem{ID: "test/algebra/1.json", Question: "p", Answer: "2", Solution: `\boxed{2}`, Source: "math", Subject: "Algebra", Level: 4}, ps[0])
}

// FuzzLoadParquet mutates a valid Parquet file: corrupt input must come back
// as a positioned error, never a panic.
func FuzzLoadParquet(f *testing.F) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[gsmRow](&buf)
	if _, err := w.Write([]gsmRow{{"q1", "a\n#### 1"}, {"q2", "b\n#### 2"}}); err != nil {
		f.Fatal(err)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("PAR1PAR1"))
	f.Add([]byte{})
	fm := dataset.FieldMap{Question: "question", Answer: "answer"}
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := dataset.LoadParquet(bytes.NewReader(b), int64(len(b)), "f.parquet", fm)
		if err != nil {
			var de *dataset.Error
			if !errors.As(err, &de) || de.File != "f.parquet" {
				t.Fatalf("error %q is not a positioned *dataset.Error", err)
			}
			return
		}
		for _, p := range ps {
			if p.Question == "" || p.Answer == "" {
				t.Fatalf("incomplete problem %+v", p)
			}
		}
	})
}

type numinaMsg struct {
	Content string `parquet:"content"`
	Role    string `parquet:"role"`
}

// numinaRow has NuminaMath-CoT's Hugging Face schema, with nullable text
// columns as HF exports often have.
type numinaRow struct {
	Source   *string     `parquet:"source,optional"`
	Problem  *string     `parquet:"problem,optional"`
	Solution *string     `parquet:"solution,optional"`
	Messages []numinaMsg `parquet:"messages,list"`
}

func TestOpenReadsNuminaParquetWithNullsAndMessageLists(t *testing.T) {
	s := func(v string) *string { return &v }
	rows := []numinaRow{
		{Source: s("olympiads"), Problem: s("Find x."), Solution: s(`So $x = \boxed{12}$.`),
			Messages: []numinaMsg{{"Find x.", "user"}, {`So $x = \boxed{12}$.`, "assistant"}}},
		{Source: s("cn_k12"), Problem: nil, Solution: nil,
			Messages: []numinaMsg{{"Compute y.", "user"}, {`y = \boxed{-3}`, "assistant"}}},
		{Source: s("olympiads"), Problem: s("Prove z."), Solution: s("By induction."), Messages: nil},
	}
	p := filepath.Join(t.TempDir(), "numina.parquet")
	require.NoError(t, os.WriteFile(p, writeParquet(t, rows), 0o644))

	_, err := dataset.Open(p)
	assert.ErrorIs(t, err, dataset.ErrEmptyAnswer)
	assert.Contains(t, err.Error(), "numina.parquet:row 3")

	var skipped []dataset.Skip
	ps, err := dataset.Open(p, dataset.SkipUnanswered(&skipped))
	require.NoError(t, err)
	require.Len(t, ps, 2)
	require.Len(t, skipped, 1)
	assert.Equal(t, 3, skipped[0].Row)
	assert.Equal(t, "12", ps[0].Answer)
	assert.Equal(t, "numina", ps[0].Source)
	assert.Equal(t, "olympiads", ps[0].Meta["source"])
	assert.Equal(t, "Compute y.", ps[1].Question, "a null problem falls back to the user message")
	assert.Equal(t, "-3", ps[1].Answer)
	assert.Equal(t, "numina.parquet:row2", ps[1].ID, "default IDs use the base name, not the path as spelled")
}
