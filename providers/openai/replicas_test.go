package openai

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// Several base URLs in VLLM_BASE_URL open one model balanced over the
// replicas (providers.Open → OpenReplicas → providers.Balancer): calls are
// spread by outstanding requests, a replica answering 503 is failed over
// and avoided, and the cache key is the first URL's whichever replica
// answered. The servers speak vLLM's real chat-completions response
// (chatShape "vllm": vllm-project/vllm vllm/entrypoints/openai/protocol.py
// ChatCompletionResponse).
func TestSeveralBaseURLsAreBalancedWithFailover(t *testing.T) {
	var served [3]atomic.Int64
	var gate sync.WaitGroup
	ok := func(i int) *fakeServer {
		return newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
			served[i].Add(1)
			gate.Wait()
			writeJSON(w, 200, chatShape("vllm", "m", "from replica"))
		})
	}
	a, b := ok(0), ok(1)
	down := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		served[2].Add(1)
		writeJSON(w, 503, `{"object":"error","message":"Service Unavailable","type":"ServiceUnavailableError","param":null,"code":503}`)
	})
	t.Setenv("VLLM_BASE_URL", a.URL+"/v1, "+down.URL+"/v1,"+b.URL+"/v1")
	c, err := providers.Open("vllm:m")
	require.NoError(t, err)
	bal, isBal := c.(*providers.Balancer)
	require.True(t, isBal, "several base URLs open a Balancer, got %T", c)
	assert.Equal(t, providers.Endpoint{Provider: "vllm", BaseURL: a.URL + "/v1"}, providers.EndpointOf(c), "cache keys follow the first URL")

	// 30 calls at once: while they are held, least-outstanding spreads them
	// over the replicas; those the down server got fail over.
	gate.Add(1)
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.Complete(context.Background(), providers.Request{Model: "m", Messages: testMsgs, Sample: i})
			if err == nil && got.Text != "from replica" {
				err = assert.AnError
			}
			errs[i] = err
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); served[0].Load()+served[1].Load() < 30 && time.Now().Before(deadline); {
		runtime.Gosched() // until every call is held by a healthy replica
	}
	gate.Done()
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(30), served[0].Load()+served[1].Load(), "every call answered by a healthy replica")
	assert.Greater(t, served[0].Load(), int64(5), "both healthy replicas share the load")
	assert.Greater(t, served[1].Load(), int64(5), "both healthy replicas share the load")
	downCalls := served[2].Load()
	assert.Positive(t, downCalls, "calls picked the down replica before its first failure, and were failed over")
	// Later calls avoid the failing replica while it cools down.
	for i := range 20 {
		_, err := c.Complete(context.Background(), providers.Request{Model: "m", Messages: testMsgs, Sample: 100 + i})
		require.NoError(t, err)
	}
	assert.Equal(t, downCalls, served[2].Load(), "the failing replica is avoided during its cooldown")
	assert.Equal(t, int64(50), served[0].Load()+served[1].Load())
	st := bal.Stats()
	require.Len(t, st, 3)
	assert.False(t, st[1].Healthy, "the 503 replica cools down")
	assert.Positive(t, st[1].Failed)

	// FromEnv, which returns one Client, refuses the list clearly.
	_, err = FromEnv("vllm", "m")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "VLLM_BASE_URL names several base URLs")
	// A blank entry is named.
	t.Setenv("VLLM_BASE_URL", a.URL+"/v1,,"+b.URL)
	_, err = providers.Open("vllm:m")
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "entry 2"), err.Error())
}

func FuzzBaseURLs(f *testing.F) {
	f.Add("http://a:8000/v1,http://b:8000/v1")
	f.Add(" http://a , ,http://b")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		urls, err := BaseURLs("VLLM_BASE_URL", v)
		if err != nil {
			return
		}
		if strings.TrimSpace(v) == "" {
			if len(urls) != 0 {
				t.Fatalf("%q: %q from a blank value", v, urls)
			}
			return
		}
		if len(urls) != strings.Count(v, ",")+1 {
			t.Fatalf("%q: %d URLs", v, len(urls))
		}
		for _, u := range urls {
			if u == "" || u != strings.TrimSpace(u) {
				t.Fatalf("%q: entry %q", v, u)
			}
		}
	})
}
