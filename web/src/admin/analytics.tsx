/** Analytics: Analytics with charts (issue 25; to be filled in). */
export function Analytics() {
  return <section aria-label="Analytics"><p class="muted">Coming soon.</p></section>;
}
