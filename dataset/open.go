package dataset

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Open loads a problem file by its extension: .jsonl / .ndjson as JSON
// lines, .parquet as Parquet. The layout (GSM8K, MATH, NuminaMath, or a
// generic file with common field names; see Detect) is recognised from the
// first record. Errors name path as given; default IDs ("name:line" or
// "name:rowN", when the file has no ID field) use its base name, so spelling
// the same file's path differently (relative, absolute, ./) gives the same
// IDs. For a layout Detect does not recognise, use LoadJSONL or LoadParquet
// with a FieldMap.
func Open(path string, opts ...Option) ([]Problem, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".jsonl", ".ndjson":
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		o := buildOptions(opts)
		o.idName = filepath.Base(path)
		return readJSONL(f, path, nil, o)
	case ".parquet":
		return OpenParquet(path, opts...)
	default:
		return nil, &Error{File: path, Err: fmt.Errorf("%w: extension %q (want .jsonl, .ndjson or .parquet)", ErrUnknownFormat, ext)}
	}
}

// Load reads JSON lines from r, recognising the layout from the first
// record like Open. name is used in IDs and error messages.
func Load(r io.Reader, name string, opts ...Option) ([]Problem, error) {
	return readJSONL(r, name, nil, buildOptions(opts))
}
