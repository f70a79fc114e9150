// Command grade verifies model responses against reference answers.
//
// It reads JSONL records with string fields "reference" and "response"
// (every other field is passed through unchanged), verifies each with
// verify.Math, and writes the records back as JSONL with three added fields:
// "correct" (bool), "answer" (the extracted answer) and "reason". A summary
// line "graded N: K correct" goes to stderr.
//
// Usage:
//
//	grade [-in responses.jsonl] [-out graded.jsonl] [-rounding n]
//
// Input defaults to stdin and output to stdout. Lines are graded and written
// one at a time, keeping each record's field order. A malformed line stops
// the run with an error naming the file, the line and the field; every line
// graded before it is already written.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/rebound-lab/rebound/verify"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "grade:", err)
		os.Exit(1)
	}
}

// maxLine bounds one JSONL record.
const maxLine = 64 << 20

// run is main without the process: it parses args, grades, and reports.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grade", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "input JSONL file (default stdin)")
	out := fs.String("out", "", "output JSONL file (default stdout)")
	rounding := fs.Int("rounding", 0, "round inexact comparisons to this many decimals (0: literal-precision default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	name := "<stdin>"
	r := stdin
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, *in
	}
	w := stdout
	var outFile *os.File
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		outFile = f
		w = f
	}
	n, k, err := grade(ctx, verify.NewMath(verify.WithRounding(*rounding)), name, r, w)
	if outFile != nil {
		if cerr := outFile.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "graded %d: %d correct\n", n, k)
	return nil
}

// grade streams records from r to w, writing and flushing each graded line
// before reading the next, so a malformed line stops the run with every
// earlier line already in the output; it returns how many were graded and
// how many were correct. Each record keeps its fields in their input order,
// with "correct", "answer" and "reason" replaced in place or appended.
func grade(ctx context.Context, v verify.Verifier, name string, r io.Reader, w io.Writer) (n, correct int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	bw := bufio.NewWriter(w)
	defer func() {
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
	}()
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		fields, err := orderedObject(raw)
		if err != nil {
			return n, correct, fmt.Errorf("%s:%d: invalid JSON object: %w (the %d lines graded before it are in the output)", name, line, err, n)
		}
		rec := map[string]json.RawMessage{}
		for _, f := range fields {
			rec[f.key] = f.value
		}
		ref, err := stringField(rec, "reference")
		if err != nil {
			return n, correct, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		resp, err := stringField(rec, "response")
		if err != nil {
			return n, correct, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		verdict, err := v.Verify(ctx, ref, resp)
		if err != nil {
			return n, correct, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		for _, add := range []struct {
			key string
			val any
		}{{"correct", verdict.Correct}, {"answer", verdict.Answer}, {"reason", verdict.Reason}} {
			b, err := json.Marshal(add.val)
			if err != nil {
				return n, correct, err
			}
			i := slices.IndexFunc(fields, func(f field) bool { return f.key == add.key })
			if i >= 0 {
				fields[i].value = b
			} else {
				fields = append(fields, field{add.key, b})
			}
		}
		bw.WriteByte('{')
		for i, f := range fields {
			if i > 0 {
				bw.WriteByte(',')
			}
			k, _ := json.Marshal(f.key)
			bw.Write(k)
			bw.WriteByte(':')
			bw.Write(f.value)
		}
		bw.WriteString("}\n")
		if err := bw.Flush(); err != nil {
			return n, correct, err
		}
		n++
		if verdict.Correct {
			correct++
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return n, correct, fmt.Errorf("%s:%d: line longer than %d bytes", name, line+1, maxLine)
		}
		return n, correct, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return n, correct, nil
}

// field is one member of a JSON object, its value as given (compacted).
type field struct {
	key   string
	value json.RawMessage
}

// orderedObject parses one JSON object keeping its members' order.
func orderedObject(raw []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil {
		return nil, err
	} else if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not an object (starts with %v)", tok)
	}
	var out []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("field %q: %w", key, err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			return nil, err
		}
		out = append(out, field{key, c.Bytes()})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the object")
	}
	return out, nil
}

func stringField(rec map[string]json.RawMessage, field string) (string, error) {
	raw, ok := rec[field]
	if !ok {
		return "", fmt.Errorf("missing field %q", field)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %q must be a string, got %s", field, clip(raw))
	}
	return s, nil
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
