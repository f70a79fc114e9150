package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// record is one decoded JSON object (a JSONL line or a Parquet row) and its
// position, so every error can name file, line and field.
type record struct {
	file string
	// idFile, if set, replaces file in default IDs (see Open: the base name,
	// so IDs do not depend on how the path is spelled).
	idFile string
	line   int // JSONL line, 1-based; 0 for Parquet
	row    int // Parquet row, 1-based; 0 for JSONL
	fields map[string]json.RawMessage
}

// err builds a positioned *Error.
func (r *record) err(field string, cause error) *Error {
	return &Error{File: r.file, Line: r.line, Row: r.row, Field: field, Err: cause}
}

// pos is "file:line" or "file:row N", used for default IDs.
func (r *record) pos() string {
	file := r.file
	if r.idFile != "" {
		file = r.idFile
	}
	if r.row > 0 {
		return file + ":row" + strconv.Itoa(r.row)
	}
	return file + ":" + strconv.Itoa(r.line)
}

// has reports whether the field is present and not null.
func (r *record) has(field string) bool {
	v, ok := r.fields[field]
	return ok && !isNull(v)
}

func isNull(v json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// str returns a field as text: a JSON string as is, a number or boolean as
// its literal. ok is false when the field is absent or null. An object or
// array is an ErrFieldType error.
func (r *record) str(field string) (s string, ok bool, err error) {
	v, present := r.fields[field]
	if !present || isNull(v) {
		return "", false, nil
	}
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", false, nil
	}
	switch v[0] {
	case '"':
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, r.err(field, fmt.Errorf("%w: %v", ErrMalformed, err))
		}
		return s, true, nil
	case '{', '[':
		kind := "an object"
		if v[0] == '[' {
			kind = "an array"
		}
		return "", false, r.err(field, fmt.Errorf("%w: want a string or number, got %s", ErrFieldType, kind))
	default: // number, true, false
		return string(v), true, nil
	}
}

// required returns a non-empty (after trimming) string field or a positioned
// ErrMissingField error.
func (r *record) required(field string) (string, error) {
	s, ok, err := r.str(field)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", r.err(field, fmt.Errorf("%w (fields present: %s)", ErrMissingField, r.fieldList()))
	}
	if strings.TrimSpace(s) == "" {
		return "", r.err(field, fmt.Errorf("%w: empty", ErrMissingField))
	}
	return s, nil
}

// fieldList names the record's fields, sorted, for error messages.
func (r *record) fieldList() string {
	names := make([]string, 0, len(r.fields))
	for k := range r.fields {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// firstPresent returns the first of names present (not null) in the record.
func (r *record) firstPresent(names ...string) string {
	for _, n := range names {
		if r.has(n) {
			return n
		}
	}
	return ""
}

// ParseLevel reads a difficulty level as datasets write it: 3, "3",
// "Level 3". It returns 0 (unknown) for anything else, e.g. MATH's
// "Level ?".
func ParseLevel(s string) int {
	s = strings.TrimSpace(s)
	if len(s) >= 5 && strings.EqualFold(s[:5], "level") {
		s = strings.TrimSpace(s[5:])
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
