// Package estimate holds the statistics behind Rebound's report, as pure
// functions over counts: no I/O, no store, no providers.
//
//   - FitPrior fits the population's distribution of true pass rates to
//     per-problem counts (k correct of n) by maximum marginal likelihood —
//     empirical Bayes — choosing between one Beta and a two-component Beta
//     mixture chosen when it gains more than 3 in log-likelihood (AIC).
//   - ClusterRate is a pooled rate's interval clustered by problem, with the
//     CR2 small-sample variance and Bell–McCaffrey degrees of freedom.
//   - Latent fits recovery per LATENT difficulty bucket (the bucket of the
//     problem's true pass rate, not of its observed k/n) by EM over a
//     mixture in which each problem's bucket is unknown, and Bootstrap
//     resamples problems to give every fitted quantity an interval.
//   - Ratio and Difference are clustered delta-method intervals for
//     normalized recovery and for recovery minus pass rate.
//   - ICC, HalfWidth, ProblemsFor and MinDetectable are the planner's
//     arithmetic: how many problems a target precision needs.
//
// Observed and latent buckets answer different questions. An observed
// bucket ("hard (0/5)") is a set of problems chosen by what was seen; its
// rates are conditional on that choice and must be estimated on data that
// did not make it (or through posterior means), else they show a winner's
// curse. A latent bucket is the set of problems whose true pass rate lies in
// a range; no problem is known to be in it, so its rates come from a model.
package estimate
