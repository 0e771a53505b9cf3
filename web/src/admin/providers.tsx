/** Providers: The providers' keys as the router sees them (issue 25; to be filled in). */
export function Providers() {
  return <section aria-label="Providers"><p class="muted">Coming soon.</p></section>;
}
