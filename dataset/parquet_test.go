package dataset_test

import (
	"bytes"
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
	assert.Equal(t, g+":row1", ps[0].ID)

	m := filepath.Join(dir, "math.parquet")
	require.NoError(t, os.WriteFile(m, writeParquet(t, []mathRow{{"p", `\boxed{2}`, "2", "Algebra", 4, "test/algebra/1.json"}}), 0o644))
	ps, err = dataset.Open(m)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, dataset.Problem{ID: "test/algebra/1.json", Question: "p", Answer: "2", Solution: `\boxed{2}`, Source: "math", Subject: "Algebra", Level: 4}, ps[0])
}
