//go:build race

package recovery

// raceDetector shrinks the slowest statistical tests under -race, which
// runs them ten times slower without checking anything more.
const raceDetector = true
