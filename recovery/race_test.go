//go:build race

package recovery

// raceEnabled is true under the race detector, which makes the bootstrap
// behind every Aggregate several times slower.
const raceEnabled = true
