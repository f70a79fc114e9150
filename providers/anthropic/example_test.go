package anthropic_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/rebound-lab/rebound/providers"
	"github.com/rebound-lab/rebound/providers/anthropic"
)

// Claude continues a trailing assistant message. The prefill's trailing
// space is trimmed for the API and spliced back out of the reply, so
// prefill + Text reads exactly as the model wrote it.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		fmt.Println("version:", r.Header.Get("anthropic-version"))
		fmt.Println("body:", string(raw))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",
"content":[{"type":"text","text":" 12"}],"stop_reason":"end_turn","stop_sequence":null,
"usage":{"input_tokens":20,"output_tokens":2,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`)
	}))
	defer srv.Close()

	c, _ := anthropic.New("claude-sonnet-4-5", anthropic.Options{BaseURL: srv.URL, APIKey: "sk-ant-..."})
	prefill := "4*3 = "
	got, err := c.Complete(context.Background(), providers.Request{
		Messages:  []providers.Message{{Role: providers.RoleUser, Content: "What is 4*3?"}},
		Prefill:   prefill,
		MaxTokens: 16,
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q via %s\n", prefill+got.Text, got.PrefillMethod)
	// Output:
	// version: 2023-06-01
	// body: {"max_tokens":16,"messages":[{"role":"user","content":"What is 4*3?"},{"role":"assistant","content":"4*3 ="}],"model":"claude-sonnet-4-5"}
	// "4*3 = 12" via assistant_message
}
