package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Skip records one record a loader left out because it had no final answer
// (only when SkipUnanswered is in effect).
type Skip struct {
	File   string // file name as given to the loader
	Line   int    // 1-based line (JSONL); 0 for Parquet
	Row    int    // 1-based row (Parquet); 0 for JSONL
	Reason string // why, e.g. `field "solution": empty answer: no \boxed{}`
}

// Option adjusts a loader.
type Option func(*options)

type options struct {
	skipped *[]Skip
	// idName replaces the file name in default IDs (Open sets the base
	// name).
	idName string
	// noSkips: do not record skips (a Stream's later passes; the first
	// one recorded them).
	noSkips bool
}

// SkipUnanswered makes a loader skip records without a final answer (e.g.
// NuminaMath proof problems, which have no \boxed{} answer) instead of
// failing, appending one Skip per record to *skipped so the count is never
// silent. Without it, such a record is an ErrEmptyAnswer error.
func SkipUnanswered(skipped *[]Skip) Option {
	return func(o *options) { o.skipped = skipped }
}

func buildOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// decoder turns one record into a Problem.
type decoder func(r *record) (Problem, error)

// collector accumulates decoded problems, enforcing unique IDs and applying
// the skip policy.
type collector struct {
	o    options
	out  []Problem
	seen map[string]*record
}

func newCollector(o options) *collector {
	return &collector{o: o, seen: make(map[string]*record)}
}

func (c *collector) add(r *record, dec decoder) error {
	p, keep, err := decodeRecord(r, dec, c.o)
	if err != nil || !keep {
		return err
	}
	return c.keep(r, p)
}

// keep appends a decoded problem, refusing a repeated ID.
func (c *collector) keep(r *record, p Problem) error {
	if first, dup := c.seen[p.ID]; dup {
		where := fmt.Sprintf("line %d", first.line)
		if first.row > 0 {
			where = fmt.Sprintf("row %d", first.row)
		}
		return r.err("", fmt.Errorf("%w %q (first at %s)", ErrDuplicateID, p.ID, where))
	}
	c.seen[p.ID] = r
	c.out = append(c.out, p)
	return nil
}

// decodeRecord decodes one record under the skip policy: keep is false
// for a record skipped (and counted) for having no answer.
func decodeRecord(r *record, dec decoder, o options) (p Problem, keep bool, err error) {
	p, err = dec(r)
	if err != nil {
		if o.skipped != nil && errors.Is(err, ErrEmptyAnswer) {
			if !o.noSkips {
				*o.skipped = append(*o.skipped, Skip{File: r.file, Line: r.line, Row: r.row, Reason: reason(err)})
			}
			return p, false, nil
		}
		return p, false, err
	}
	return p, true, nil
}

// reason is an error's message without its file:line position.
func reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.File, c.Line, c.Row = "", 0, 0
		s := c.Error()
		if len(s) > 2 && s[:2] == ": " {
			s = s[2:]
		}
		return s
	}
	return err.Error()
}

// readJSONL decodes r line by line. When dec is nil the format is detected
// from the first record's fields.
func readJSONL(r io.Reader, name string, dec decoder, o options) ([]Problem, error) {
	c := newCollector(o)
	if err := scanJSONL(r, name, dec, o, c.add); err != nil {
		return nil, err
	}
	return c.out, nil
}

// scanJSONL decodes r line by line, calling add with each record and its
// decoder (detected from the first record when dec is nil), holding only
// the line at hand.
func scanJSONL(r io.Reader, name string, dec decoder, o options, add func(*record, decoder) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return &Error{File: name, Line: line, Err: err}
		}
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // UTF-8 BOM
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			rec := &record{file: name, idFile: o.idName, line: line}
			if jerr := json.Unmarshal(t, &rec.fields); jerr != nil {
				return rec.err("", fmt.Errorf("%w: not a JSON object: %v", ErrMalformed, jerr))
			}
			if rec.fields == nil { // the literal null
				return rec.err("", fmt.Errorf("%w: not a JSON object: null", ErrMalformed))
			}
			if dec == nil {
				if dec, err = detect(rec); err != nil {
					return err
				}
			}
			if aerr := add(rec, dec); aerr != nil {
				return aerr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// LoadJSONL reads any JSONL problem file through a field map. name is used
// in IDs ("name:line" when fm.ID is empty) and in error messages. Blank lines
// are skipped; a line that is not a JSON object, a missing question, or an
// empty answer is an *Error naming name:line and the field.
func LoadJSONL(r io.Reader, name string, fm FieldMap, opts ...Option) ([]Problem, error) {
	dec, err := fm.decoder(name)
	if err != nil {
		return nil, err
	}
	return readJSONL(r, name, dec, buildOptions(opts))
}

// LoadGSM8K reads GSM8K-format JSONL ({"question", "answer"} with the final
// answer on a "#### N" line). See GSM8KTest for how fields map.
func LoadGSM8K(r io.Reader, name string, opts ...Option) ([]Problem, error) {
	return readJSONL(r, name, decodeGSM8K, buildOptions(opts))
}

// LoadMATH reads MATH or MATH-500 JSONL ({"problem", "solution", "answer",
// "subject" or "type", "level", "unique_id"}). The answer is the "answer"
// field, or the last \boxed{} of "solution" when that field is absent or
// empty. ID is unique_id when present, else name:line. Source is "math".
func LoadMATH(r io.Reader, name string, opts ...Option) ([]Problem, error) {
	return readJSONL(r, name, decodeMATH, buildOptions(opts))
}

// LoadNumina reads NuminaMath-CoT or NuminaMath-1.5 JSONL ({"problem",
// "solution", "messages", "source"}, 1.5 adds "answer", "problem_type",
// "question_type"). The answer is 1.5's "answer" field unless it is empty,
// "proof" or "notfound", else the last \boxed{} of the solution. The question
// and solution fall back to the first user and last assistant message. ID is
// name:line; Source is "numina"; the upstream "source" (e.g. "olympiads")
// goes to Meta["source"]. Proof problems have no answer: pass SkipUnanswered
// to skip and count them.
func LoadNumina(r io.Reader, name string, opts ...Option) ([]Problem, error) {
	return readJSONL(r, name, decodeNumina, buildOptions(opts))
}
