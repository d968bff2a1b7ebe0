// The specs of tfjs-core's suite that no backend runs here, each with its reason. The same list applies to
// every backend (modelled on the filter in tfjs-backend-cpu's run_tests): an exclusion may say something about
// this environment, never about a backend's result. It is empty: every spec in tfjs-core 4.22's package runs.
// (tfjs's own filter drops 'computation in worker', which names specs of tfjs-backend-cpu's, not of tfjs-core's.)
// An entry: { match: 'a substring of the spec's full name', reason: 'why it cannot run here' }.
export const EXCLUSIONS = [];

/** The reason a spec (by its full name) is excluded, or null when it runs. */
export function excludedBy(fullName) {
  for (const e of EXCLUSIONS) if (fullName.includes(e.match)) return e.reason;
  return null;
}
