// Package recovery runs Rebound's experiment end to end: straight-shot
// calibration of a strong and a weak model, fuzzy difficulty binning,
// perturbation into flawed prefixes, continuation of those prefixes by the
// strong model, and aggregation into a per-bucket report with clustered
// confidence intervals and plots.
//
// Each stage is usable alone (StraightShot, Bin, PerturbStage, Continue,
// Aggregate) and Run composes them into the whole experiment. Results are
// written to a Store — one SQLite file per run directory — as they arrive, so
// an interrupted run resumes where it stopped and a finished call is never
// paid for twice.
package recovery
