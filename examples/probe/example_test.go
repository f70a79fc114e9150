package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
)

// The command against a local Ollama-like server that continues a trailing
// assistant message.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		text := "ly warm."
		switch {
		case strings.Contains(string(body), "Count from 1"):
			text = " 18, 19"
		case strings.Contains(string(body), "even numbers"):
			text = " 24, 26"
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":"llama3.1:8b","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"length"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`, text)
	}))
	defer srv.Close()
	os.Setenv("OLLAMA_BASE_URL", srv.URL+"/v1")
	defer os.Unsetenv("OLLAMA_BASE_URL")
	if err := run([]string{"-model", "ollama:llama3.1:8b"}, os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// assistant_message        honoured (3/3 canaries continued in place)
	//   count     honoured     continued with "18, 19" — " 18, 19"
	//   mid-word  honoured     continued with "ly warm." — "ly warm."
	//   evens     honoured     continued with "24, 26" — " 24, 26"
	// instructed               honoured (3/3 canaries continued in place)
	//   count     honoured     continued with "18, 19" — " 18, 19"
	//   mid-word  honoured     continued with "ly warm." — "ly warm."
	//   evens     honoured     continued with "24, 26" — " 24, 26"
	// verdict: ollama:llama3.1:8b continues the prefix with assistant_message, instructed (set OLLAMA_PREFILL=assistant_message to choose it)
}
