// Package e2e proves, end to end, that the recovery harness
// (examples/recovery, built with go build and run as a child process)
// survives what overnight runs against rate-limited, flaky, paid APIs
// throw at it, and uses the rate limit fully. Its tests drive the binary
// against internal/faultserver, an OpenAI-compatible server answering from
// providers/sim and counting every request server-side:
//
//   - faults: every retryable fault is survived with every sample present
//     and retries bounded; permanent errors stop the run fast with a
//     message naming provider, model and status;
//   - crash safety: SIGKILL at seeded random moments, restart, and the
//     final summary.json equals an uninterrupted run's, with no request
//     repeated except those in flight at a kill;
//   - budget: a run over -budget stops with a clear message having spent,
//     as the server counts tokens × prices, no more than the budget;
//   - secrets: a canary API key appears in no log, file, error or viewer
//     page;
//   - throughput (benchmarks): achieved requests per minute against the
//     server's RPM ceiling, with automatic and with fixed concurrency;
//   - memory: the child's peak RSS on 10,000 problems × 5 samples.
//
// The package's only exported API builds synthetic problem sets for such
// runs: Synthetic and WriteJSONL.
package e2e
