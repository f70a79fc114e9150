package dataset_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rebound-lab/rebound/dataset"
)

// FuzzLoadJSONL feeds arbitrary bytes to every JSONL loader. None may panic;
// a success must hold only problems with an ID, a question and an answer and
// unique IDs; a failure must be a *dataset.Error naming the file.
func FuzzLoadJSONL(f *testing.F) {
	seeds := []string{
		`{"question":"q","answer":"step <<1+1=2>>2\n#### 1,000"}`,
		"{\"question\":\"q\",\"answer\":\"#### 1\"}\n\n{\"question\":\"r\",\"answer\":\"x\\n####\"}\n",
		`{"problem":"p","solution":"\\boxed{\\frac{1}{2}}","level":"Level 3","type":"Algebra"}`,
		`{"problem":"p","solution":"s","answer":"3","subject":"Algebra","level":2,"unique_id":"test/a/1.json"}`,
		`{"source":"olympiads","problem":"p","solution":"\\boxed{5","messages":[{"role":"user","content":"p"}]}`,
		`{"source":"x","messages":[{"role":"user","content":"u"},{"role":"assistant","content":"\\fbox{2}"}]}`,
		`{"id":1,"input":"i","target":2.5,"tags":{"a":[1]}}`,
		"\xef\xbb\xbf{\"question\":\"q\",\"answer\":null}\r\n",
		`[1]`, `null`, `{`, `{"question":{"x":1}}`, "",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	fm := dataset.FieldMap{ID: "id", Question: "question", Answer: "answer", Solution: "solution",
		Level: "level", AnswerFromSolution: true, Meta: []string{"tags"}}
	loaders := map[string]func([]byte) ([]dataset.Problem, error){
		"gsm8k":  func(b []byte) ([]dataset.Problem, error) { return dataset.LoadGSM8K(bytes.NewReader(b), "f.jsonl") },
		"math":   func(b []byte) ([]dataset.Problem, error) { return dataset.LoadMATH(bytes.NewReader(b), "f.jsonl") },
		"numina": func(b []byte) ([]dataset.Problem, error) { return dataset.LoadNumina(bytes.NewReader(b), "f.jsonl") },
		"auto":   func(b []byte) ([]dataset.Problem, error) { return dataset.Load(bytes.NewReader(b), "f.jsonl") },
		"fields": func(b []byte) ([]dataset.Problem, error) { return dataset.LoadJSONL(bytes.NewReader(b), "f.jsonl", fm) },
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for name, load := range loaders {
			ps, err := load(b)
			if err != nil {
				var de *dataset.Error
				if !errors.As(err, &de) || de.File != "f.jsonl" || !strings.HasPrefix(err.Error(), "f.jsonl") {
					t.Fatalf("%s: error %q is not a positioned *dataset.Error", name, err)
				}
				continue
			}
			ids := map[string]bool{}
			for _, p := range ps {
				if p.ID == "" || strings.TrimSpace(p.Question) == "" || strings.TrimSpace(p.Answer) == "" {
					t.Fatalf("%s: incomplete problem %+v", name, p)
				}
				if ids[p.ID] {
					t.Fatalf("%s: duplicate id %q", name, p.ID)
				}
				ids[p.ID] = true
			}
		}
	})
}

// FuzzLastBoxed checks that the extractor never panics and that what it
// returns came from the input.
func FuzzLastBoxed(f *testing.F) {
	for _, s := range []string{`\boxed{5}`, `\boxed{\frac{1}{2}}`, `\boxed 5$`, `\fbox{\{1\}}`, `\boxed{`, `\\boxed{}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := dataset.LastBoxed(s)
		if ok != (a != "") {
			t.Fatalf("ok=%v with answer %q", ok, a)
		}
		if ok && !strings.Contains(s, a) {
			t.Fatalf("answer %q not in input", a)
		}
	})
}
