package dataset

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// LoadParquet reads a Parquet file (the format Hugging Face serves datasets
// in) of size bytes through a field map. Each row's top-level columns are
// the fields; nested columns (lists, structs) may be named in fm.Meta and
// are kept as JSON. name is used in IDs ("name:rowN" when fm.ID is empty)
// and in error messages, which name the 1-based row and the field.
func LoadParquet(r io.ReaderAt, size int64, name string, fm FieldMap, opts ...Option) ([]Problem, error) {
	dec, err := fm.decoder(name)
	if err != nil {
		return nil, err
	}
	return readParquet(r, size, name, dec, buildOptions(opts))
}

// OpenParquet reads the Parquet file at path, detecting its layout from its
// columns and first row like Open.
func OpenParquet(path string, opts ...Option) ([]Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	o.idName = filepath.Base(path)
	return readParquet(f, st.Size(), path, nil, o)
}

func readParquet(r io.ReaderAt, size int64, name string, dec decoder, o options) ([]Problem, error) {
	c := newCollector(o)
	if err := scanParquet(r, size, name, dec, o, c.add); err != nil {
		return nil, err
	}
	return c.out, nil
}

// scanParquet reads the rows of a Parquet file one at a time (parquet-go
// reads a row group's pages as it goes), calling add with each row as a
// record and its decoder (detected from the first row when dec is nil).
func scanParquet(r io.ReaderAt, size int64, name string, dec decoder, o options, add func(*record, decoder) error) (err error) {
	defer func() {
		// parquet-go may panic on corrupt input; report it as malformed.
		if v := recover(); v != nil {
			err = &Error{File: name, Err: fmt.Errorf("%w: parquet: %v", ErrMalformed, v)}
		}
	}()
	if err := checkParquetFooter(r, size); err != nil {
		return &Error{File: name, Err: fmt.Errorf("%w: parquet: %v", ErrMalformed, err)}
	}
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return &Error{File: name, Err: fmt.Errorf("%w: parquet: %v", ErrMalformed, err)}
	}
	pr := parquet.NewReader(f)
	defer pr.Close()
	for row := 1; ; row++ {
		m := map[string]any{}
		if rerr := pr.Read(&m); rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return &Error{File: name, Row: row, Err: fmt.Errorf("%w: parquet: %v", ErrMalformed, rerr)}
		}
		rec := &record{file: name, idFile: o.idName, row: row, fields: make(map[string]json.RawMessage, len(m))}
		for k, v := range m {
			b, jerr := json.Marshal(normalizeParquet(v))
			if jerr != nil {
				return rec.err(k, fmt.Errorf("%w: %v", ErrFieldType, jerr))
			}
			rec.fields[k] = b
		}
		if dec == nil {
			if dec, err = detect(rec); err != nil {
				return err
			}
		}
		if err := add(rec, dec); err != nil {
			return err
		}
	}
}

// normalizeParquet turns byte-array values into strings so that a BYTE_ARRAY
// column without a string annotation still reads as text.
func normalizeParquet(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeParquet(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeParquet(e)
		}
		return x
	}
	return v
}

// checkParquetFooter checks the file's trailer — footer length and "PAR1" —
// before parquet-go reads it: parquet-go allocates the footer length it
// finds (up to 4 GiB) before checking it against the file's size, so a
// corrupt 500-byte file could cost gigabytes (found by FuzzLoadParquet).
func checkParquetFooter(r io.ReaderAt, size int64) error {
	const magic = "PAR1"
	if size < 12 {
		return fmt.Errorf("%d bytes is too short for a Parquet file", size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("reading the trailer: %v", err)
	}
	if string(tail[4:]) != magic {
		return errors.New(`no "PAR1" at the end of the file`)
	}
	footer := int64(binary.LittleEndian.Uint32(tail[:4]))
	if footer > size-12 {
		return fmt.Errorf("footer length %d exceeds the file (%d bytes)", footer, size)
	}
	return nil
}
