package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/openai"
)

// A DeepSeek client continues a prefix with "prefix": true on the last
// assistant message. The local server stands in for api.deepseek.com/beta.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []map[string]any `json:"messages"`
		}
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		last := body.Messages[len(body.Messages)-1]
		fmt.Println("sent:", last["role"], last["prefix"], r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"1","object":"chat.completion","model":"deepseek-chat",
"choices":[{"index":0,"message":{"role":"assistant","content":"12"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":20,"completion_tokens":1,"total_tokens":21,"prompt_cache_hit_tokens":16,"prompt_cache_miss_tokens":4}}`)
	}))
	defer srv.Close()

	c, err := openai.New("deepseek-chat", openai.Options{Preset: "deepseek", BaseURL: srv.URL + "/beta", APIKey: "sk-..."})
	if err != nil {
		panic(err)
	}
	got, err := c.Complete(context.Background(), providers.Request{
		Messages:    []providers.Message{{Role: providers.RoleUser, Content: "What is (2+2)*3?"}},
		Prefill:     "2+2 = 4, and 4*3 = ",
		Temperature: providers.Float(0),
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q via %s, %d cached input tokens\n", got.Text, got.PrefillMethod, got.Usage.CachedInputTokens)
	// Output:
	// sent: assistant true /beta/chat/completions
	// "12" via prefix_flag, 16 cached input tokens
}

// OpenAI's chat models have no prefill: the adapter says so rather than
// silently changing the experiment, unless emulation is asked for.
func ExampleClient_Complete_unsupported() {
	c, _ := openai.New("gpt-4o-mini", openai.Options{Preset: "openai", BaseURL: "http://127.0.0.1:1", APIKey: "k"})
	_, err := c.Complete(context.Background(), providers.Request{
		Messages: []providers.Message{{Role: providers.RoleUser, Content: "Q"}},
		Prefill:  "Step 1:",
	})
	fmt.Println(errors.Is(err, providers.ErrPrefillUnsupported))
	fmt.Println(c.Dialects())
	// Output:
	// true
	// [instructed]
}
