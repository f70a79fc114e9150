package faultserver

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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

// BenchmarkRPMCeiling drives the server (RPM 6,000, latency 200 ms) for 3 s
// with 32 clients that honour retry-after-ms, and reports the answered rate
// as a fraction of the ceiling (ceiling-frac) and the 429s per answer: the
// bucket admits the ceiling, no more.
func BenchmarkRPMCeiling(b *testing.B) {
	for b.Loop() {
		const rpm, window = 6000, 3 * time.Second
		s := New(Config{RPM: rpm, Latency: 200 * time.Millisecond})
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		deadline := time.Now().Add(window)
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					resp, err := client.Post(s.BaseURL+"/chat/completions", "application/json", strings.NewReader(chatBody))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusTooManyRequests {
						ms, _ := strconv.Atoi(resp.Header.Get("retry-after-ms"))
						time.Sleep(time.Duration(ms) * time.Millisecond)
					}
				}
			}()
		}
		wg.Wait()
		st := s.Stats()
		s.Close()
		// Admissible: the initial burst (one second's worth) plus the refill.
		admissible := float64(rpm)/60*window.Seconds() + float64(rpm)/60
		b.ReportMetric(float64(st.Answered)/admissible, "ceiling-frac")
		b.ReportMetric(float64(st.RateLimited)/float64(max(1, st.Answered)), "429-per-answer")
	}
}
