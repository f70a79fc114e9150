package openai

import (
	"encoding/json"
	"strings"
)

// replyExtras is what the doer reads from a 200 reply beyond go-openai's
// decoding.
type replyExtras struct {
	Error json.RawMessage `json:"error"`
	// Provider is OpenRouter's upstream host (openrouter.ai/docs/api-reference
	// response: "provider").
	Provider string `json:"provider"`
	Usage    *struct {
		Cost                 *float64 `json:"cost"`
		PromptCacheHitTokens int      `json:"prompt_cache_hit_tokens"`
		// ReasoningTokens is SGLang's top-level count
		// (sglang protocol.py UsageInfo.reasoning_tokens).
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"usage"`
	Choices []struct {
		Message *replyMessage `json:"message"`
	} `json:"choices"`
}

// replyMessage is a chat reply's message in every shape seen: content a
// string or an array of chunks (Mistral TextChunk / ThinkChunk, SGLang
// thinking parts), reasoning in reasoning_content (DeepSeek, SGLang, older
// vLLM), reasoning (OpenRouter, newer vLLM) or reasoning_details
// (OpenRouter).
type replyMessage struct {
	Content          json.RawMessage `json:"content"`
	ReasoningContent *string         `json:"reasoning_content"`
	Reasoning        *string         `json:"reasoning"`
	ReasoningDetails []struct {
		Type    string `json:"type"`
		Text    string `json:"text"`
		Summary string `json:"summary"`
	} `json:"reasoning_details"`
}

// chunk is one element of an array content: {"type":"text","text":...} or
// {"type":"thinking","thinking":[chunks] | "..."}.
type chunk struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking json.RawMessage `json:"thinking"`
}

// readMessage records m's reasoning and, when its content is an array,
// the joined text chunks; it returns body with that content replaced by the
// text, so go-openai decodes a plain string.
func (st *callState) readMessage(m *replyMessage, body []byte) ([]byte, error) {
	if m == nil {
		return body, nil
	}
	var reasoning []string
	switch {
	case m.ReasoningContent != nil && *m.ReasoningContent != "":
		reasoning = append(reasoning, *m.ReasoningContent)
	case m.Reasoning != nil && *m.Reasoning != "":
		reasoning = append(reasoning, *m.Reasoning)
	default:
		for _, d := range m.ReasoningDetails {
			switch {
			case d.Text != "":
				reasoning = append(reasoning, d.Text)
			case d.Summary != "":
				reasoning = append(reasoning, d.Summary)
			}
		}
	}
	c := strings.TrimSpace(string(m.Content))
	if strings.HasPrefix(c, "[") {
		var chunks []chunk
		if err := json.Unmarshal(m.Content, &chunks); err != nil {
			return body, err
		}
		var text strings.Builder
		for _, ch := range chunks {
			switch ch.Type {
			case "text":
				text.WriteString(ch.Text)
			case "thinking", "reasoning":
				if t := thinkingText(ch); t != "" {
					reasoning = append(reasoning, t)
				}
			}
		}
		st.chunked, st.text = true, text.String()
		var err error
		if body, err = replaceContent(body, st.text); err != nil {
			return body, err
		}
	}
	st.reasoning = strings.Join(reasoning, "\n")
	return body, nil
}

// thinkingText reads a thinking chunk: Mistral's ThinkChunk.thinking is an
// array of text chunks; SGLang's thinking part carries a string in thinking
// or text.
func thinkingText(ch chunk) string {
	if len(ch.Thinking) == 0 || string(ch.Thinking) == "null" {
		return ch.Text
	}
	var s string
	if json.Unmarshal(ch.Thinking, &s) == nil {
		return s
	}
	var inner []chunk
	if json.Unmarshal(ch.Thinking, &inner) != nil {
		return ""
	}
	var b strings.Builder
	for _, in := range inner {
		if in.Type == "" || in.Type == "text" {
			b.WriteString(in.Text)
		}
	}
	return b.String()
}

// replaceContent sets choices[0].message.content of body to text.
func replaceContent(body []byte, text string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return body, err
	}
	var choices []map[string]json.RawMessage
	if err := json.Unmarshal(top["choices"], &choices); err != nil {
		return body, err
	}
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(choices[0]["message"], &msg); err != nil {
		return body, err
	}
	msg["content"], _ = json.Marshal(text)
	var err error
	if choices[0]["message"], err = json.Marshal(msg); err != nil {
		return body, err
	}
	if top["choices"], err = json.Marshal(choices); err != nil {
		return body, err
	}
	return json.Marshal(top)
}
