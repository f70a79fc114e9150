package dataset

import (
	"bytes"
	"embed"
	"fmt"
	"maps"
	"sync"
)

// data holds the embedded problem sets and their license notices.
//
//go:embed data/gsm8k_test.jsonl data/math500_test.jsonl data/LICENSE-gsm8k data/LICENSE-math500 data/NOTICE
var data embed.FS

// embeddedSet parses one embedded file once and hands out copies.
type embeddedSet struct {
	once     sync.Once
	file     string
	load     func(file string, b []byte) ([]Problem, error)
	problems []Problem
}

func (s *embeddedSet) get() []Problem {
	s.once.Do(func() {
		b, err := data.ReadFile("data/" + s.file)
		if err == nil {
			s.problems, err = s.load(s.file, b)
		}
		if err != nil {
			// The files are fixed at build time and covered by tests.
			panic(fmt.Sprintf("dataset: embedded %s: %v", s.file, err))
		}
	})
	return clone(s.problems)
}

var (
	gsm8kTest = embeddedSet{file: "gsm8k_test.jsonl", load: func(file string, b []byte) ([]Problem, error) {
		return LoadGSM8K(bytes.NewReader(b), "gsm8k/test.jsonl")
	}}
	math500 = embeddedSet{file: "math500_test.jsonl", load: func(file string, b []byte) ([]Problem, error) {
		ps, err := LoadMATH(bytes.NewReader(b), "math500/test.jsonl")
		for i := range ps {
			ps[i].Source = "math500"
		}
		return ps, err
	}}
)

// GSM8KTest returns the 1,319 GSM8K test problems (OpenAI, MIT license; see
// data/NOTICE), in file order. ID is "gsm8k/test.jsonl:<line>" (1-based);
// Answer is the text after "####" with commas removed ("1,000" → "1000");
// Solution is the worked steps without the "####" line and without the
// calculator annotations ("<<16-3-4=9>>"), so it reads like a model's own
// text and can be cut into a prefix; the annotated original is in
// Meta["annotated_solution"] (present when it differs). Source is "gsm8k".
//
// The set is parsed once; each call returns a fresh copy the caller may
// modify. Safe for concurrent use.
func GSM8KTest() []Problem { return gsm8kTest.get() }

// MATH500 returns the 500 MATH-500 problems (OpenAI PRM800K split, MIT
// license; see data/NOTICE), in file order. ID is the dataset's unique_id
// ("test/precalculus/807.json"); Answer is its answer field; Solution, Subject
// and Level (1–5) are as given; Source is "math500".
//
// The set is parsed once; each call returns a fresh copy the caller may
// modify. Safe for concurrent use.
func MATH500() []Problem { return math500.get() }

// clone deep-copies problems, including their Meta maps.
func clone(ps []Problem) []Problem {
	out := make([]Problem, len(ps))
	copy(out, ps)
	for i := range out {
		if out[i].Meta != nil {
			out[i].Meta = maps.Clone(out[i].Meta)
		}
	}
	return out
}
