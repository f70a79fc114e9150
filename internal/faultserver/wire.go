package faultserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rebound-lab/rebound/providers"
)

// Request is a decoded chat-completions request, as an AnswerFunc sees it.
type Request struct {
	// Model is the body's "model".
	Model string
	// Messages are the chat turns; content given as an array of parts is
	// joined (text parts only).
	Messages []providers.Message
	// Temperature, TopP and Seed are non-nil when the body sent them.
	Temperature, TopP *float64
	Seed              *int64
	// MaxTokens is max_completion_tokens, else max_tokens; 0 if neither.
	MaxTokens int
	// Stop holds the stop sequences (a string or an array on the wire).
	Stop []string
	// Stream is true for a streaming (server-sent events) request.
	Stream bool
	// IncludeUsage is stream_options.include_usage.
	IncludeUsage bool
	// ContinueFinal is continue_final_message (vLLM, SGLang); PrefixFlag is
	// "prefix": true on the last message (DeepSeek, Mistral).
	ContinueFinal, PrefixFlag bool
	// Hash identifies the request's content: a hex SHA-256 prefix of the
	// body re-encoded canonically (keys sorted), so a retry of the same
	// request has the same Hash.
	Hash string
}

// wireRequest is the JSON body of POST /v1/chat/completions.
type wireRequest struct {
	Model               string          `json:"model"`
	Messages            []wireMessage   `json:"messages"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Seed                *int64          `json:"seed"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	ContinueFinalMessage bool `json:"continue_final_message"`
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Prefix  bool            `json:"prefix"`
}

// errBadRequest marks a body the server answers with 400.
var errBadRequest = errors.New("invalid request")

// decodeRequest parses and validates a chat-completions body. Its errors
// name the field at fault.
func decodeRequest(body []byte) (Request, error) {
	var w wireRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return Request{}, fmt.Errorf("%w: body is not a chat-completions JSON object: %v", errBadRequest, err)
	}
	if dec.More() {
		return Request{}, fmt.Errorf("%w: trailing data after the JSON object", errBadRequest)
	}
	if w.Model == "" {
		return Request{}, fmt.Errorf("%w: field \"model\": missing", errBadRequest)
	}
	if len(w.Messages) == 0 {
		return Request{}, fmt.Errorf("%w: field \"messages\": missing or empty", errBadRequest)
	}
	r := Request{
		Model:         w.Model,
		Temperature:   w.Temperature,
		TopP:          w.TopP,
		Seed:          w.Seed,
		Stream:        w.Stream,
		IncludeUsage:  w.StreamOptions != nil && w.StreamOptions.IncludeUsage,
		ContinueFinal: w.ContinueFinalMessage,
	}
	switch {
	case w.MaxCompletionTokens != nil:
		r.MaxTokens = *w.MaxCompletionTokens
	case w.MaxTokens != nil:
		r.MaxTokens = *w.MaxTokens
	}
	if r.MaxTokens < 0 {
		return Request{}, fmt.Errorf("%w: field \"max_tokens\": negative (%d)", errBadRequest, r.MaxTokens)
	}
	for i, m := range w.Messages {
		switch m.Role {
		case providers.RoleSystem, providers.RoleUser, providers.RoleAssistant, "developer", "tool":
		default:
			return Request{}, fmt.Errorf("%w: field \"messages[%d].role\": unknown role %q", errBadRequest, i, m.Role)
		}
		text, err := contentText(m.Content)
		if err != nil {
			return Request{}, fmt.Errorf("%w: field \"messages[%d].content\": %v", errBadRequest, i, err)
		}
		r.Messages = append(r.Messages, providers.Message{Role: m.Role, Content: text})
		if i == len(w.Messages)-1 && m.Prefix {
			r.PrefixFlag = true
		}
	}
	if len(w.Stop) > 0 && string(w.Stop) != "null" {
		var one string
		if err := json.Unmarshal(w.Stop, &one); err == nil {
			r.Stop = []string{one}
		} else if err := json.Unmarshal(w.Stop, &r.Stop); err != nil {
			return Request{}, fmt.Errorf("%w: field \"stop\": want a string or an array of strings", errBadRequest)
		}
	}
	r.Hash = contentHash(body)
	return r, nil
}

// contentText reads a message content: a string, null, or an array of parts
// whose "text" fields are joined.
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("want a string or an array of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// contentHash hashes body re-encoded canonically (map keys sorted, numbers
// as written), so equal requests hash equally whatever their key order.
func contentHash(body []byte) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	canon := body
	if dec.Decode(&v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:12])
}

// Wire shapes of responses.
type (
	wireResponse struct {
		ID      string       `json:"id"`
		Object  string       `json:"object"`
		Created int64        `json:"created"`
		Model   string       `json:"model"`
		Choices []wireChoice `json:"choices"`
		Usage   *wireUsage   `json:"usage,omitempty"`
	}
	wireChoice struct {
		Index        int         `json:"index"`
		Message      *wireOutMsg `json:"message,omitempty"`
		Delta        *wireOutMsg `json:"delta,omitempty"`
		FinishReason *string     `json:"finish_reason"`
		Logprobs     *struct{}   `json:"logprobs"`
	}
	wireOutMsg struct {
		Role    string `json:"role,omitempty"`
		Content string `json:"content"`
	}
	wireUsage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	}
	wireError struct {
		Error wireErrorBody `json:"error"`
	}
	wireErrorBody struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
)

func errorJSON(typ, code, msg string) []byte {
	e := wireError{Error: wireErrorBody{Message: msg, Type: typ}}
	if code != "" {
		e.Error.Code = &code
	}
	b, _ := json.Marshal(e)
	return b
}

// htmlBadGateway is what a CDN or load balancer sends when the origin is
// down: HTML where the client expects JSON.
const htmlBadGateway = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
	"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
