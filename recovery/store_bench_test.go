package recovery

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rebound-lab/rebound/providers"
)

// writtenBytes is the bytes this process has passed to write(2) so far
// (Linux /proc/self/io wchar), or -1 where that is not available.
func writtenBytes() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "wchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

type fixedText struct {
	text string
	// vary: the answer to sample i is a prefix of text of length
	// len(text)/4 + (i%10)*len(text)/12 (¼ to the whole), as real answers
	// vary.
	vary bool
	// usd is each call's price (0: free, like the simulator).
	usd float64
}

func (f fixedText) Complete(_ context.Context, req providers.Request) (providers.Completion, error) {
	text := f.text
	if f.vary {
		text = text[:len(text)/4+(req.Sample%10)*len(text)/12]
	}
	return providers.Completion{Text: text, Provider: "bench", Model: req.Model, FinishReason: "stop",
		Usage: providers.Usage{InputTokens: 120, OutputTokens: len(text) / 4}, CostUSD: f.usd, CostKnown: true}, nil
}

// BenchmarkStoreCall stores what one call leaves in a run: its completion
// in the cache (SQLiteCache) and its sample row (PutSample), with answers
// of the simulator's length (~300 B, free) and of a real model's (1.5 KB;
// and 0.75-3 KB, paid, so each answer is committed before its row). It
// reports the bytes written to disk per call (write(2) bytes: WAL,
// checkpoints and database), the database's size per call once
// checkpointed, the answer text per call, the database's size beyond that
// text (the store's own cost of a call), and the time per call.
func BenchmarkStoreCall(b *testing.B) {
	for _, c := range []struct {
		name string
		size int
		vary bool
		usd  float64
	}{{"sim-300B", 300, false, 0}, {"real-1500B", 1500, false, 0}, {"real-varied-paid", 1500, true, 0.001}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			st, err := OpenStore(dir)
			if err != nil {
				b.Fatal(err)
			}
			mw, err := SQLiteCache(st)
			if err != nil {
				b.Fatal(err)
			}
			text := strings.Repeat("Step: 12 + 30 = 42. ", c.size/20)
			if c.vary {
				text += text
			}
			model := mw(fixedText{text: text, vary: c.vary, usd: c.usd})
			b.ReportAllocs()
			w0 := writtenBytes()
			n, texts := 0, 0
			for b.Loop() {
				id := "problem-" + strconv.Itoa(n/10)
				req := providers.Request{Model: "m", Messages: []providers.Message{{Role: "user",
					Content: "Solve the problem and put the final answer in \\boxed{}. " + id}}, Sample: n % 10}
				cp, err := model.Complete(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				r := Sample{Stage: StageStrong, ProblemID: id, Sample: n % 10, Model: "bench:m", Request: requestJSON(req)}
				fillCompletion(&r, cp)
				texts += len(cp.Text)
				r.Correct, r.Answer, r.Rule = true, "42", "boxed"
				if err := st.PutSample(ctx, r); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if err := st.Close(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if w0 >= 0 {
				b.ReportMetric(float64(writtenBytes()-w0)/float64(n), "disk-B/call")
			}
			var size int64
			for _, f := range []string{StoreFile, StoreFile + "-wal"} {
				if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
					size += fi.Size()
				}
			}
			b.ReportMetric(float64(size)/float64(n), "db-B/call")
			b.ReportMetric(float64(texts)/float64(n), "text-B/call")
			b.ReportMetric(float64(size-int64(texts))/float64(n), "beyond-text-B/call")
		})
	}
}

// BenchmarkResumeFinished measures Run on a finished 500-problem run
// directory with nothing left to do (the finished-run shortcut), and, for
// comparison, the same resume once the shortcut is invalidated (a report
// file touched), which replays every stage from the store.
func BenchmarkResumeFinished(b *testing.B) {
	dir := b.TempDir()
	if _, err := Run(context.Background(), simConfig(b, dir, 500, 1)); err != nil {
		b.Fatal(err)
	}
	b.Run("nothing-to-do", func(b *testing.B) {
		for b.Loop() {
			if _, err := Run(context.Background(), simConfig(b, dir, 500, 1)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replay", func(b *testing.B) {
		for b.Loop() {
			now := time.Now()
			if err := os.Chtimes(filepath.Join(dir, SummaryJSON), now, now); err != nil {
				b.Fatal(err)
			}
			if _, err := Run(context.Background(), simConfig(b, dir, 500, 1)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
