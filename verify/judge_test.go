package verify

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/providers"
)

// scriptedJudge answers every request with reply and counts calls.
func scriptedJudge(reply string, err error, calls *atomic.Int32, last *providers.Request) providers.Completer {
	return providers.CompleterFunc(func(ctx context.Context, req providers.Request) (providers.Completion, error) {
		calls.Add(1)
		*last = req
		if err != nil {
			return providers.Completion{}, err
		}
		return providers.Completion{Text: reply}, nil
	})
}

func TestJudgeIsAskedOnlyWhenTheParserCannotDecide(t *testing.T) {
	var calls atomic.Int32
	var req providers.Request
	j := &Judge{Completer: scriptedJudge("YES", nil, &calls, &req), Model: "judge-model"}
	ctx := context.Background()

	v, err := j.Verify(ctx, "18", "#### 18")
	require.NoError(t, err)
	assert.True(t, v.Correct)
	assert.NotEqual(t, MethodJudge, v.Method)
	v, err = j.Verify(ctx, "18", "#### 17")
	require.NoError(t, err)
	assert.False(t, v.Correct, "a parsed mismatch is decided without the judge")
	assert.Zero(t, calls.Load())

	v, err = j.Verify(ctx, "18", "I would say eighteen dollars.")
	require.NoError(t, err)
	assert.True(t, v.Correct)
	assert.Equal(t, MethodJudge, v.Method)
	assert.Equal(t, int32(1), calls.Load())
	assert.Equal(t, "judge-model", req.Model)
	require.NotNil(t, req.Temperature)
	assert.Equal(t, 0.0, *req.Temperature)
	assert.Contains(t, req.Messages[0].Content, "REFERENCE: 18")
	assert.Contains(t, req.Messages[0].Content, "eighteen dollars")
}

func TestJudgeReplies(t *testing.T) {
	cases := []struct {
		reply       string
		wantCorrect bool
		wantMethod  string
	}{
		{"YES", true, MethodJudge},
		{"no.", false, MethodJudge},
		{"  Yes, they match", true, MethodJudge},
		{"Maybe", false, MethodNone},
	}
	for _, c := range cases {
		t.Run(c.reply, func(t *testing.T) {
			var calls atomic.Int32
			var req providers.Request
			j := &Judge{Completer: scriptedJudge(c.reply, nil, &calls, &req)}
			v, err := j.Verify(context.Background(), "\\text{blue}", "It is the colour of the sky.")
			require.NoError(t, err)
			assert.Equal(t, c.wantCorrect, v.Correct)
			assert.Equal(t, c.wantMethod, v.Method)
			if c.wantMethod == MethodNone {
				assert.Contains(t, v.Reason, ErrJudgeReply.Error())
			}
		})
	}
}

func TestJudgeWrapsCompleterErrorsAndTruncatesLongResponses(t *testing.T) {
	var calls atomic.Int32
	var req providers.Request
	j := &Judge{Completer: scriptedJudge("", providers.ErrRateLimited, &calls, &req), MaxResponseChars: 100}
	_, err := j.Verify(context.Background(), "blue", strings.Repeat("words ", 1000))
	require.Error(t, err)
	assert.True(t, errors.Is(err, providers.ErrRateLimited))
	assert.Less(t, len(req.Messages[0].Content), 1000)

	_, err = (&Judge{}).Verify(context.Background(), "1", "1")
	assert.Error(t, err)
}
