package dataset

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. A load error is an *Error wrapping one of these; match
// them with errors.Is and read the position with errors.As.
var (
	// ErrMalformed: a line is not a JSON object, or a file is not readable
	// in its format.
	ErrMalformed = errors.New("malformed record")
	// ErrMissingField: a required field is absent, null or empty.
	ErrMissingField = errors.New("missing field")
	// ErrFieldType: a field holds a value of the wrong type (an object
	// where a string was expected).
	ErrFieldType = errors.New("wrong field type")
	// ErrEmptyAnswer: no final answer could be found for a record. Pass
	// SkipUnanswered to skip and count such records instead.
	ErrEmptyAnswer = errors.New("empty answer")
	// ErrDuplicateID: two records share an ID.
	ErrDuplicateID = errors.New("duplicate id")
	// ErrUnknownFormat: Open could not tell the file's format from its name
	// or its fields.
	ErrUnknownFormat = errors.New("unknown dataset format")
	// ErrFieldMap: a FieldMap is unusable (no question field, no answer).
	ErrFieldMap = errors.New("invalid field map")
)

// Error is a load failure tied to a place in a file: which file, which line
// (JSONL) or row (Parquet), and which field. Its message reads
// "test.jsonl:17: field \"answer\": empty answer: ...".
type Error struct {
	File  string // file name or path as given to the loader
	Line  int    // 1-based line of a JSONL file; 0 if not tied to a line
	Row   int    // 1-based row of a Parquet file; 0 if not tied to a row
	Field string // source field name; "" if not about one field
	Err   error  // cause, usually wrapping one of the sentinels
}

// Error formats the position, the field and the cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	switch {
	case e.Line > 0:
		b.WriteString(":" + strconv.Itoa(e.Line))
	case e.Row > 0:
		b.WriteString(":row " + strconv.Itoa(e.Row))
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %q", e.Field)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
