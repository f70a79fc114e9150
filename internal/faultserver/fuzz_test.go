package faultserver

import (
	"errors"
	"testing"
)

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(chatBody))
	f.Add([]byte(`{"model":"m","stop":["a","b"],"max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]},{"role":"assistant","content":"p","prefix":true}]}`))
	f.Add([]byte(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"continue_final_message":true,"messages":[{"role":"system","content":null}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"a"}]} trailing`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeRequest(body)
		if err != nil {
			if !errors.Is(err, errBadRequest) {
				t.Fatalf("error %v does not wrap errBadRequest", err)
			}
			return
		}
		if r.Model == "" || len(r.Messages) == 0 || r.MaxTokens < 0 || len(r.Hash) != 24 {
			t.Fatalf("accepted an invalid request: %+v", r)
		}
		if again, _ := decodeRequest(body); again.Hash != r.Hash {
			t.Fatal("hash not deterministic")
		}
	})
}
