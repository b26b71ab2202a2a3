import fc from 'fast-check';

/**
 * Property and differential suites draw from a fixed seed so a CI run is
 * reproducible; `VISIONOPS_FC_SEED=<n>` picks another one and
 * `VISIONOPS_FC_SEED=random` lets fast-check choose (it prints the seed of a failure).
 */
const requested = process.env.VISIONOPS_FC_SEED;
if (requested !== 'random') fc.configureGlobal({ seed: requested ? Number(requested) : 20261126 });
