package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGradeAddsVerdictFieldsAndPassesOthersThrough(t *testing.T) {
	in := `{"id": 1, "reference": "18", "response": "She makes $18.\n#### 18"}
{"id": 2, "reference": "\\frac{1}{2}", "response": "so \\boxed{0.5}", "model": "m"}

{"id": 3, "reference": "7", "response": "The answer is 8."}
`
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), nil, strings.NewReader(in), &out, &errOut))
	assert.Equal(t, "graded 3: 2 correct\n", errOut.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3)
	var recs []map[string]any
	for _, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		recs = append(recs, m)
	}
	assert.Equal(t, true, recs[0]["correct"])
	assert.Equal(t, "18", recs[0]["answer"])
	assert.Equal(t, true, recs[1]["correct"])
	assert.Equal(t, "m", recs[1]["model"])
	assert.Equal(t, float64(2), recs[1]["id"])
	assert.Equal(t, false, recs[2]["correct"])
	assert.Equal(t, "8", recs[2]["answer"])
	assert.Contains(t, recs[2]["reason"], "differs")
}

func TestGradeReadsAndWritesFiles(t *testing.T) {
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	require.NoError(t, os.WriteFile(inPath, []byte(`{"reference":"3","response":"\\boxed{3}"}`+"\n"), 0o644))
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-in", inPath, "-out", outPath}, strings.NewReader(""), &stdout, &stderr))
	assert.Empty(t, stdout.String())
	assert.Equal(t, "graded 1: 1 correct\n", stderr.String())
	b, err := os.ReadFile(outPath)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"correct":true`)
}

func TestGradeReportsBadInputWithLineAndField(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"invalid json", "{\"reference\":\"1\",\"response\":\"1\"}\n{oops\n", "<stdin>:2: invalid JSON object"},
		{"missing response", `{"reference":"1"}`, `<stdin>:1: missing field "response"`},
		{"non-string reference", `{"reference":18,"response":"18"}`, `<stdin>:1: field "reference" must be a string, got 18`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), nil, strings.NewReader(c.in), &out, &errOut)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestGradeRejectsStrayArguments(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"extra"}, strings.NewReader(""), &out, &errOut)
	assert.ErrorContains(t, err, "unexpected arguments")
}

func TestGradeKeepsTheLinesGradedBeforeABadOneInTheirFieldOrder(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(
		`{"id":7,"response":"#### 18","reference":"18","model":"m"}`+"\n"+
			`{"zeta":1,"reference":"3","correct":"stale","response":"so 4"}`+"\n"+
			`{"reference":"5", oops}`+"\n"+
			`{"reference":"6","response":"#### 6"}`+"\n"), 0o644))
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-in", in, "-out", out}, strings.NewReader(""), io.Discard, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), in+":3")
	assert.Contains(t, err.Error(), "the 2 lines graded before it are in the output")
	b, rerr := os.ReadFile(out)
	require.NoError(t, rerr)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2, "the finished lines are kept")
	assert.True(t, strings.HasPrefix(lines[0], `{"id":7,"response":"#### 18","reference":"18","model":"m","correct":true,"answer":"18"`), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], `{"zeta":1,"reference":"3","correct":false,"response":"so 4","answer":`), "a stale field is replaced in place: %s", lines[1])
}
