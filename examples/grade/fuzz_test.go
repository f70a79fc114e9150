package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzOrderedObject: whatever orderedObject accepts is a JSON object that
// encoding/json reads the same way, and writing its fields back in order
// gives that object again.
func FuzzOrderedObject(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[1,2],"c":{"d":null}}`, `{}`, `{"x":"y"} `, `[1]`, `{"a":1}{"b":2}`, `{"a":}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fields, err := orderedObject(raw)
		if err != nil {
			return
		}
		var want map[string]any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("orderedObject accepted %q, which encoding/json rejects: %v", raw, err)
		}
		var b bytes.Buffer
		b.WriteByte('{')
		keys := map[string]bool{}
		for i, fl := range fields {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(fl.key)
			b.Write(k)
			b.WriteByte(':')
			b.Write(fl.value)
			keys[fl.key] = true
		}
		b.WriteByte('}')
		var got map[string]any
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("re-encoded %q is not JSON: %v", b.Bytes(), err)
		}
		if len(keys) == len(fields) && !reflect.DeepEqual(want, got) {
			t.Fatalf("%q re-encoded as %q", raw, b.Bytes())
		}
	})
}
