package faultserver

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkServe measures the server's own cost per answered request with
// parallel keep-alive clients, so throughput tests can tell whether the
// server or the client is the bottleneck.
func BenchmarkServe(b *testing.B) {
	s := New(Config{})
	defer s.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(s.BaseURL+"/chat/completions", "application/json", strings.NewReader(chatBody))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.StopTimer()
	if st := s.Stats(); st.Answered != st.Requests {
		b.Fatalf("answered %d of %d", st.Answered, st.Requests)
	}
}
