package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Lines decodes a batch results file: one JSON object per line, blank
// lines skipped. A malformed line, or one check refuses (e.g. it has no
// custom_id), is an error naming its line number.
func Lines[T any](data []byte, check func(T) error) ([]T, error) {
	var out []T
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if err := check(v); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, v)
	}
	return out, nil
}
